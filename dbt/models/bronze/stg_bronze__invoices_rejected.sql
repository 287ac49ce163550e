-- One row per rejected delivery (the quarantine), with its machine-readable reason.
with

invoices_rejected as (

    select * from {{ source('bronze', 'invoices_rejected') }}

),

final as (

    select
        {{ delivery_key() }} as delivery_key,
        reason_code,
        reason,
        invoice_id,
        raw_payload,
        source,
        slice_key,
        source_position,
        load_id,
        ingested_at,
        ingest_date,
        kafka_topic,
        kafka_partition,
        kafka_offset
    from invoices_rejected

)

select * from final
