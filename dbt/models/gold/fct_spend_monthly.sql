-- Monthly spend: one row per month x shop x product (latest revision of accepted invoices),
-- with shop brand, city, product type and product brand denormalised for grouping.
with

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

bucketed as (

    select
        {{ month_start('issued_date') }} as spend_month,
        {{ year_of('issued_date') }} as spend_year,
        shop_id,
        shop_name,
        shop_brand,
        city,
        product_id,
        product_name,
        product_type,
        product_brand,
        invoice_id,
        quantity,
        line_total
    from invoice_lines

),

final as (

    select
        spend_month,
        shop_id,
        product_id,
        max(spend_year) as spend_year,
        max(shop_name) as shop_name,
        max(shop_brand) as shop_brand,
        max(city) as city,
        max(product_name) as product_name,
        max(product_type) as product_type,
        max(product_brand) as product_brand,
        {{ to_money('sum(line_total)') }} as spend,
        {{ to_measure('sum(quantity)') }} as quantity,
        count(*) as line_count,
        count(distinct invoice_id) as invoice_count
    from bucketed
    group by spend_month, shop_id, product_id

)

select * from final
