{#- Portable parsing of RFC 3339 timestamps as the invoice contract delivers them. -#}

{#- The instant as a timestamp with time zone, normalised to UTC. -#}
{% macro iso8601_to_utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('iso8601_to_utc_timestamp', 'pantrypulse')(expr)) }}
{%- endmacro %}

{% macro duckdb__iso8601_to_utc_timestamp(expr) -%}
    cast({{ expr }} as timestamptz)
{%- endmacro %}

{% macro trino__iso8601_to_utc_timestamp(expr) -%}
    cast(from_iso8601_timestamp({{ expr }}) at time zone 'UTC' as timestamp(6) with time zone)
{%- endmacro %}

{#-
    The local calendar date printed on the receipt: the date part of the RFC 3339 text,
    before any offset is applied (2026-01-15T23:30:00-05:00 is 2026-01-15, not the 16th).
-#}
{% macro local_date_from_iso8601(expr) -%}
    {{ return(adapter.dispatch('local_date_from_iso8601', 'pantrypulse')(expr)) }}
{%- endmacro %}

{% macro default__local_date_from_iso8601(expr) -%}
    {{ pantrypulse.to_date('substring(' ~ expr ~ ', 1, 10)') }}
{%- endmacro %}

{% macro duckdb__local_date_from_iso8601(expr) -%}
    {{ pantrypulse.default__local_date_from_iso8601(expr) }}
{%- endmacro %}

{% macro trino__local_date_from_iso8601(expr) -%}
    {{ pantrypulse.default__local_date_from_iso8601(expr) }}
{%- endmacro %}
