-- One row per invoice_id x line_no of the latest revision, with the canonical product
-- (alias lookup within the chain of the invoice's shop).
with

invoices as (

    select * from {{ ref('invoices') }}

),

delivery_lines as (

    select * from {{ ref('stg_bronze__invoice_lines') }}

),

shops as (

    select * from {{ ref('stg_resolution__shops') }}

),

product_aliases as (

    select * from {{ ref('stg_resolution__product_aliases') }}

),

final as (

    select
        {{ surrogate_key(['invoices.invoice_id', 'delivery_lines.line_no']) }} as invoice_line_id,
        invoices.invoice_id,
        delivery_lines.line_no,
        invoices.revision,
        invoices.issued_date,
        invoices.shop_id,
        product_aliases.product_id,
        delivery_lines.quantity,
        delivery_lines.unit,
        delivery_lines.unit_price,
        delivery_lines.discount,
        delivery_lines.line_total,
        delivery_lines.product_name,
        delivery_lines.product_brand,
        delivery_lines.category,
        delivery_lines.unit_raw,
        delivery_lines.line_position,
        invoices.currency,
        invoices.delivery_key
    from delivery_lines
    inner join invoices
        on delivery_lines.delivery_key = invoices.delivery_key
    left join shops
        on invoices.shop_id = shops.shop_id
    left join product_aliases
        on
            shops.shop_brand_key = product_aliases.shop_brand_key
            and delivery_lines.product_name = product_aliases.raw_name
            and coalesce(delivery_lines.product_brand, '') = product_aliases.raw_brand

)

select * from final
