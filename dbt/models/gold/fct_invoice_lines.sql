-- Invoice detail: one row per invoice line (latest revision) with shop and product attributes
-- and, where the unit or the product size allows it, the price per kg or per litre.
with

invoice_lines as (

    select * from {{ ref('invoice_lines') }}

),

products as (

    select * from {{ ref('products') }}

),

shops as (

    select * from {{ ref('shops') }}

),

joined as (

    select
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoice_lines.line_no,
        invoice_lines.issued_date,
        invoice_lines.shop_id,
        shops.shop_name,
        shops.shop_brand,
        shops.city,
        invoice_lines.product_id,
        products.product_name,
        products.size_value,
        products.size_unit,
        products.pack_count,
        invoice_lines.product_name as raw_product_name,
        invoice_lines.quantity,
        invoice_lines.unit,
        invoice_lines.unit_price,
        invoice_lines.discount,
        invoice_lines.line_total,
        invoice_lines.currency,
        coalesce(products.product_brand, 'unbranded') as product_brand,
        coalesce(products.product_type, 'uncategorized') as product_type,
        -- net size of one counted unit in g or ml: size_value per item x items per pack
        case
            when invoice_lines.unit = 'unit' and products.size_value > 0
                then products.size_value * coalesce(products.pack_count, 1)
        end as unit_net_size
    from invoice_lines
    left join products
        on invoice_lines.product_id = products.product_id
    left join shops
        on invoice_lines.shop_id = shops.shop_id

),

priced as (

    select
        *,
        case
            when unit = 'kg' then unit_price
            when unit = 'g' then unit_price * 1000
            when size_unit = 'g' then unit_price * 1000 / unit_net_size
        end as price_per_kg,
        case
            when unit = 'l' then unit_price
            when unit = 'ml' then unit_price * 1000
            when size_unit = 'ml' then unit_price * 1000 / unit_net_size
        end as price_per_l
    from joined

),

final as (

    select
        invoice_line_id,
        invoice_id,
        line_no,
        issued_date,
        shop_id,
        shop_name,
        shop_brand,
        city,
        product_id,
        product_name,
        product_brand,
        product_type,
        size_value,
        size_unit,
        pack_count,
        raw_product_name,
        quantity,
        unit,
        unit_price,
        discount,
        line_total,
        currency,
        {{ to_measure('price_per_kg') }} as price_per_kg,
        {{ to_measure('price_per_l') }} as price_per_l
    from priced

)

select * from final
