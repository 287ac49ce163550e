-- Price history: one row per product x shop x issue date, with unit price statistics,
-- quantity bought, and the price per kg / per litre where the unit or product size allows it.
with

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

final as (

    select
        product_id,
        shop_id,
        issued_date,
        max(product_name) as product_name,
        max(product_brand) as product_brand,
        max(product_type) as product_type,
        max(shop_name) as shop_name,
        max(shop_brand) as shop_brand,
        max(city) as city,
        -- the unit prices are quoted in (a product is sold by one unit in practice)
        max(unit) as unit,
        count(*) as line_count,
        {{ to_measure('min(unit_price)') }} as min_unit_price,
        {{ to_measure('avg(unit_price)') }} as avg_unit_price,
        {{ to_measure('max(unit_price)') }} as max_unit_price,
        {{ to_measure('sum(quantity)') }} as quantity_bought,
        {{ to_money('sum(line_total)') }} as spend,
        {{ to_measure('avg(price_per_kg)') }} as avg_price_per_kg,
        {{ to_measure('avg(price_per_l)') }} as avg_price_per_l
    from invoice_lines
    group by product_id, shop_id, issued_date

)

select * from final
