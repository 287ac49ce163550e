-- Yearly spend: one row per year x shop x product, rolled up from the monthly mart so the two
-- grains cannot disagree. An invoice falls in exactly one month, so monthly invoice counts add
-- up to yearly ones.
with

spend_monthly as (

    select * from {{ ref('fct_spend_monthly') }}

),

final as (

    select
        spend_year,
        shop_id,
        product_id,
        min({{ year_start('spend_month') }}) as spend_year_start,
        max(shop_name) as shop_name,
        max(shop_brand) as shop_brand,
        max(city) as city,
        max(product_name) as product_name,
        max(product_type) as product_type,
        max(product_brand) as product_brand,
        {{ to_money('sum(spend)') }} as spend,
        {{ to_measure('sum(quantity)') }} as quantity,
        cast(sum(line_count) as bigint) as line_count,
        cast(sum(invoice_count) as bigint) as invoice_count
    from spend_monthly
    group by spend_year, shop_id, product_id

)

select * from final
