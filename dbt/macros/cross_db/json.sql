{#- Portable JSON access: scalar extraction and array unnesting (DuckDB json / Trino JSON). -#}

{#- A JSON scalar at `path` (e.g. '$.shop.name') as a string; NULL when missing or JSON null. -#}
{% macro json_extract_text(json_expr, path) -%}
    {{ return(adapter.dispatch('json_extract_text', 'pantrypulse')(json_expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_extract_text(json_expr, path) -%}
    json_extract_string({{ json_expr }}, '{{ path }}')
{%- endmacro %}

{% macro trino__json_extract_text(json_expr, path) -%}
    json_extract_scalar({{ json_expr }}, '{{ path }}')
{%- endmacro %}

{#-
    A join clause that unnests the JSON array at `path` into one row per element:
    `<alias>.<element_name>` (JSON) and `<alias>.<index_name>` (1-based position).
-#}
{% macro json_unnest_array(json_expr, path, alias, element_name, index_name) -%}
    {{ return(adapter.dispatch('json_unnest_array', 'pantrypulse')(
        json_expr, path, alias, element_name, index_name
    )) }}
{%- endmacro %}

{% macro duckdb__json_unnest_array(json_expr, path, alias, element_name, index_name) -%}
    cross join unnest(cast(json_extract({{ json_expr }}, '{{ path }}') as json [])) with ordinality
        as {{ alias }} ({{ element_name }}, {{ index_name }})
{%- endmacro %}

{% macro trino__json_unnest_array(json_expr, path, alias, element_name, index_name) -%}
    cross join unnest(cast(json_extract({{ json_expr }}, '{{ path }}') as array(json))) with ordinality
        as {{ alias }} ({{ element_name }}, {{ index_name }})
{%- endmacro %}
