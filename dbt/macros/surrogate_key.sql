{#- md5 over the '|'-joined text of the given columns ('' for null): a portable surrogate key. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(column, dbt.type_string()) ~ ", '')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- The key of one accepted delivery (one row of bronze.invoices_raw). -#}
{% macro delivery_key(prefix='') -%}
    {%- set columns = ['source', 'slice_key', 'load_id', 'source_position'] -%}
    {%- set qualified = [] -%}
    {%- for column in columns -%}
        {%- do qualified.append((prefix ~ '.' if prefix else '') ~ column) -%}
    {%- endfor -%}
    {{ pantrypulse.surrogate_key(qualified) }}
{%- endmacro %}
