-- The local issue date parsed here from raw_json agrees with the one the Python side stored
-- in bronze.invoices_raw.issued_date (two parsers of the same contract field). Warn only.
{{ config(severity='warn') }}

with

invoices_raw as (

    select * from {{ ref('base_bronze__invoices_raw') }}

),

deliveries as (

    select * from {{ ref('stg_bronze__invoices') }}

),

bronze_dates as (

    select
        {{ delivery_key() }} as delivery_key,
        issued_date
    from invoices_raw

),

final as (

    select
        deliveries.delivery_key,
        deliveries.invoice_id,
        deliveries.issued_date as parsed_issued_date,
        bronze_dates.issued_date as bronze_issued_date
    from deliveries
    inner join bronze_dates
        on deliveries.delivery_key = bronze_dates.delivery_key

)

select * from final
where parsed_issued_date != bronze_issued_date
