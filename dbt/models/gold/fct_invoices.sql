-- Invoice list: one row per invoice (latest revision) with date, shop, item count and total.
with

invoices as (

    select * from {{ ref('invoices') }}

),

shops as (

    select * from {{ ref('shops') }}

),

final as (

    select
        invoices.invoice_id,
        invoices.issued_date,
        invoices.issued_at,
        {{ month_start('invoices.issued_date') }} as issued_month,
        {{ year_of('invoices.issued_date') }} as issued_year,
        invoices.shop_id,
        shops.shop_name,
        shops.shop_brand,
        shops.city,
        invoices.line_count as item_count,
        invoices.total,
        invoices.lines_total,
        invoices.discount_total,
        invoices.currency,
        invoices.payment_method,
        invoices.revision,
        invoices.source
    from invoices
    left join shops
        on invoices.shop_id = shops.shop_id

)

select * from final
