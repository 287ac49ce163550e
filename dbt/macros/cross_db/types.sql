{#- Fixed-point types shared by every engine: money is decimal(18,2), measures decimal(18,4). -#}

{% macro money_type() -%}
    decimal(18, 2)
{%- endmacro %}

{% macro measure_type() -%}
    decimal(18, 4)
{%- endmacro %}

{#- Cast to money, rounding half away from zero to the cent (same on DuckDB and Trino). -#}
{% macro to_money(expr) -%}
    {{ dbt.cast(expr, pantrypulse.money_type()) }}
{%- endmacro %}

{% macro to_measure(expr) -%}
    {{ dbt.cast(expr, pantrypulse.measure_type()) }}
{%- endmacro %}

{% macro to_int(expr) -%}
    {{ dbt.cast(expr, dbt.type_int()) }}
{%- endmacro %}

{% macro to_date(expr) -%}
    {{ dbt.cast(expr, api.Column.translate_type('date')) }}
{%- endmacro %}
