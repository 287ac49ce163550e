-- One row per canonical product, with display labels and purchase statistics.
with

products as (

    select * from {{ ref('products') }}

),

invoice_lines as (

    select * from {{ ref('invoice_lines') }}

),

purchases as (

    select
        product_id,
        count(*) as line_count,
        count(distinct invoice_id) as invoice_count,
        min(issued_date) as first_bought_on,
        max(issued_date) as last_bought_on,
        sum(line_total) as total_spend
    from invoice_lines
    group by product_id

),

final as (

    select
        products.product_id,
        products.product_name,
        coalesce(products.product_brand, 'unbranded') as product_brand,
        coalesce(products.product_type, 'uncategorized') as product_type,
        products.size_value,
        products.size_unit,
        products.pack_count,
        products.alias_count,
        coalesce(purchases.line_count, 0) as line_count,
        coalesce(purchases.invoice_count, 0) as invoice_count,
        purchases.first_bought_on,
        purchases.last_bought_on,
        {{ to_money('coalesce(purchases.total_spend, 0)') }} as total_spend
    from products
    left join purchases
        on products.product_id = purchases.product_id

)

select * from final
