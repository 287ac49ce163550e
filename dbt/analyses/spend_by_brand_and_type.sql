-- Ad-hoc analysis (compiled, never run by dbt build): yearly spend by shop brand and product
-- type from the gold marts, the question the dashboards answer. `dbt compile -s` to get SQL.
with

spend_yearly as (

    select * from {{ ref('fct_spend_yearly') }}

),

final as (

    select
        spend_year,
        shop_brand,
        product_type,
        sum(spend) as spend,
        sum(line_count) as line_count
    from spend_yearly
    group by spend_year, shop_brand, product_type

)

select * from final
order by spend_year asc, spend desc
