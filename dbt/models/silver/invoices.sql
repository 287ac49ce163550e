-- One row per invoice_id: the latest revision wins (ties broken by the latest ingested_at, then
-- deterministically; see stg_bronze__invoices), whichever source delivered it, so streamed and
-- batch-loaded copies of an invoice are one row. With its canonical shop and its lines' totals.
with

deliveries as (

    select * from {{ ref('stg_bronze__invoices') }}

),

delivery_lines as (

    select * from {{ ref('stg_bronze__invoice_lines') }}

),

shop_aliases as (

    select * from {{ ref('stg_resolution__shop_aliases') }}

),

latest_deliveries as (

    select * from deliveries
    where is_latest_revision

),

delivery_counts as (

    select
        invoice_id,
        count(*) as delivery_count,
        count(distinct revision) as revision_count,
        count(distinct source) as source_count
    from deliveries
    group by invoice_id

),

line_totals as (

    select
        delivery_key,
        count(*) as line_count,
        sum(line_total) as lines_total,
        sum(discount) as discount_total
    from delivery_lines
    group by delivery_key

),

final as (

    select
        latest_deliveries.invoice_id,
        shop_aliases.shop_id,
        latest_deliveries.revision,
        latest_deliveries.issued_at,
        latest_deliveries.issued_date,
        latest_deliveries.currency,
        latest_deliveries.total,
        {{ to_money('coalesce(line_totals.lines_total, 0)') }} as lines_total,
        {{ to_money('coalesce(line_totals.discount_total, 0)') }} as discount_total,
        coalesce(line_totals.line_count, 0) as line_count,
        latest_deliveries.payment_method,
        latest_deliveries.raw_shop_name,
        latest_deliveries.raw_shop_brand,
        latest_deliveries.raw_shop_city,
        latest_deliveries.source,
        latest_deliveries.source_system,
        latest_deliveries.load_id,
        latest_deliveries.ingested_at,
        delivery_counts.delivery_count,
        delivery_counts.revision_count,
        delivery_counts.source_count,
        latest_deliveries.delivery_key
    from latest_deliveries
    left join shop_aliases
        on
            latest_deliveries.raw_shop_name = shop_aliases.raw_name
            and coalesce(latest_deliveries.raw_shop_brand, '') = shop_aliases.raw_brand
            and coalesce(latest_deliveries.raw_shop_address, '') = shop_aliases.raw_address
            and coalesce(latest_deliveries.raw_shop_city, '') = shop_aliases.raw_city
            and coalesce(latest_deliveries.raw_shop_postal_code, '') = shop_aliases.raw_postal_code
            and coalesce(latest_deliveries.raw_shop_tax_id, '') = shop_aliases.raw_tax_id
    left join line_totals
        on latest_deliveries.delivery_key = line_totals.delivery_key
    left join delivery_counts
        on latest_deliveries.invoice_id = delivery_counts.invoice_id

)

select * from final
