{#- Grain test: no two rows share the values of `combination_of_columns` (NULLs compare equal). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grouped as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_records
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

)

select * from grouped
where n_records > 1

{% endtest %}
