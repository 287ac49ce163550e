-- One row per canonical shop (a branch of a chain), with visit statistics.
with

shops as (

    select * from {{ ref('shops') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

visits as (

    select
        shop_id,
        count(*) as invoice_count,
        min(issued_date) as first_invoice_on,
        max(issued_date) as last_invoice_on,
        sum(lines_total) as total_spend
    from invoices
    group by shop_id

),

final as (

    select
        shops.shop_id,
        shops.shop_name,
        shops.shop_brand,
        shops.address,
        shops.city,
        shops.postal_code,
        shops.country,
        shops.tax_id,
        shops.alias_count,
        coalesce(visits.invoice_count, 0) as invoice_count,
        visits.first_invoice_on,
        visits.last_invoice_on,
        {{ to_money('coalesce(visits.total_spend, 0)') }} as total_spend
    from shops
    left join visits
        on shops.shop_id = visits.shop_id

)

select * from final
