-- One row per accepted delivery, exactly as bronze.invoices_raw holds it. The only reader of the
-- source: on DuckDB every source() reference re-copies the Iceberg table, and concurrent copies
-- of one table conflict, so each source is referenced by exactly one model.
with

invoices_raw as (

    select * from {{ source('bronze', 'invoices_raw') }}

),

final as (

    select
        invoice_id,
        revision,
        issued_at,
        issued_date,
        payload_sha256,
        raw_json,
        source,
        slice_key,
        source_position,
        load_id,
        ingested_at,
        ingest_date,
        kafka_topic,
        kafka_partition,
        kafka_offset
    from invoices_raw

)

select * from final
