{#-
    on-run-start, DuckDB only: create the source schemas (bronze, resolution) up front. The
    iceberg plugin runs CREATE SCHEMA IF NOT EXISTS as it copies each source, and two threads
    doing that first create at once fail with a write-write conflict.
-#}
{% macro create_source_schemas() %}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set schemas = [] -%}
        {%- for source_node in graph.sources.values() -%}
            {%- if source_node.schema not in schemas -%}
                {%- do schemas.append(source_node.schema) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for schema in schemas -%}
            {%- do run_query('create schema if not exists ' ~ adapter.quote(schema)) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
