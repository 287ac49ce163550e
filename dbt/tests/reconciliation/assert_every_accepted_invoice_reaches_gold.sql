-- Every invoice_id with an accepted delivery has exactly one row in fct_invoices, and its
-- lines in fct_invoice_lines: nothing accepted is lost between bronze and gold.
with

deliveries as (

    select * from {{ ref('stg_bronze__invoices') }}

),

delivery_lines as (

    select * from {{ ref('stg_bronze__invoice_lines') }}

),

gold_invoices as (

    select * from {{ ref('fct_invoices') }}

),

gold_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

expected as (

    select
        count(distinct deliveries.invoice_id) as invoice_count,
        count(delivery_lines.delivery_key) as line_count
    from deliveries
    left join delivery_lines
        on deliveries.delivery_key = delivery_lines.delivery_key
    where deliveries.is_latest_revision

),

actual_invoices as (

    select count(*) as invoice_count
    from gold_invoices

),

actual_lines as (

    select count(*) as line_count
    from gold_lines

),

final as (

    select
        expected.invoice_count as expected_invoice_count,
        actual_invoices.invoice_count as actual_invoice_count,
        expected.line_count as expected_line_count,
        actual_lines.line_count as actual_line_count
    from expected
    cross join actual_invoices
    cross join actual_lines

)

select * from final
where
    expected_invoice_count != actual_invoice_count
    or expected_line_count != actual_line_count
