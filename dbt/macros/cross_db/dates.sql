{#- Calendar buckets for the marts, as dates (first day of the month / year) and numbers. -#}

{% macro month_start(expr) -%}
    {{ pantrypulse.to_date(dbt.date_trunc('month', expr)) }}
{%- endmacro %}

{% macro year_start(expr) -%}
    {{ pantrypulse.to_date(dbt.date_trunc('year', expr)) }}
{%- endmacro %}

{#- extract() is ANSI and identical on DuckDB and Trino; dbt has no portable date_part. -#}
{% macro year_of(expr) -%}
    {{ dbt.cast('extract(year from ' ~ expr ~ ')', dbt.type_int()) }}
{%- endmacro %}
