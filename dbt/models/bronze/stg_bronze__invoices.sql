-- One row per accepted delivery: header fields parsed from raw_json, plus delivery metadata
-- and the flag that marks the delivery that wins for its invoice (latest revision), whichever
-- source (http, file, kafka) delivered it.
with

invoices_raw as (

    select * from {{ ref('base_bronze__invoices_raw') }}

),

parsed as (

    select
        {{ delivery_key() }} as delivery_key,
        {{ json_extract_text('raw_json', '$.invoice_id') }} as invoice_id,
        coalesce({{ to_int(json_extract_text('raw_json', '$.revision')) }}, 1) as revision,
        {{ json_extract_text('raw_json', '$.issued_at') }} as issued_at_text,
        {{ json_extract_text('raw_json', '$.currency') }} as currency,
        {{ to_money(json_extract_text('raw_json', '$.total')) }} as total,
        {{ json_extract_text('raw_json', '$.payment_method') }} as payment_method,
        {{ json_extract_text('raw_json', '$.shop.name') }} as raw_shop_name,
        {{ json_extract_text('raw_json', '$.shop.brand') }} as raw_shop_brand,
        {{ json_extract_text('raw_json', '$.shop.address') }} as raw_shop_address,
        {{ json_extract_text('raw_json', '$.shop.city') }} as raw_shop_city,
        {{ json_extract_text('raw_json', '$.shop.postal_code') }} as raw_shop_postal_code,
        {{ json_extract_text('raw_json', '$.shop.country') }} as raw_shop_country,
        {{ json_extract_text('raw_json', '$.shop.tax_id') }} as raw_shop_tax_id,
        {{ json_extract_text('raw_json', '$.source.system') }} as source_system,
        source,
        slice_key,
        source_position,
        load_id,
        ingested_at,
        ingest_date,
        kafka_topic,
        kafka_partition,
        kafka_offset,
        payload_sha256
    from invoices_raw

),

typed as (

    select
        delivery_key,
        invoice_id,
        revision,
        {{ iso8601_to_utc_timestamp('issued_at_text') }} as issued_at,
        {{ local_date_from_iso8601('issued_at_text') }} as issued_date,
        issued_at_text,
        currency,
        total,
        payment_method,
        raw_shop_name,
        raw_shop_brand,
        raw_shop_address,
        raw_shop_city,
        raw_shop_postal_code,
        raw_shop_country,
        raw_shop_tax_id,
        source_system,
        source,
        slice_key,
        source_position,
        load_id,
        ingested_at,
        ingest_date,
        kafka_topic,
        kafka_partition,
        kafka_offset,
        payload_sha256,
        -- The winner: highest revision, then latest ingested_at, whatever the source. The rest
        -- is a total tie-break over the delivery key: within one load (a Kafka micro-batch can
        -- hold the same invoice twice) the later Kafka offset wins, compared as numbers because
        -- older source_positions are not zero-padded ('0:9' > '0:10' as text); then the text
        -- position, then slice_key (topic and partition) and source. Nulls last on both engines.
        row_number() over (
            partition by invoice_id
            order by
                revision desc,
                ingested_at desc,
                load_id desc,
                kafka_partition desc nulls last,
                kafka_offset desc nulls last,
                source_position desc,
                slice_key desc,
                source desc
        ) as delivery_rank
    from parsed

),

final as (

    select
        delivery_key,
        invoice_id,
        revision,
        issued_at,
        issued_date,
        issued_at_text,
        currency,
        total,
        payment_method,
        raw_shop_name,
        raw_shop_brand,
        raw_shop_address,
        raw_shop_city,
        raw_shop_postal_code,
        raw_shop_country,
        raw_shop_tax_id,
        source_system,
        source,
        slice_key,
        source_position,
        load_id,
        ingested_at,
        ingest_date,
        kafka_topic,
        kafka_partition,
        kafka_offset,
        payload_sha256,
        delivery_rank,
        delivery_rank = 1 as is_latest_revision
    from typed

)

select * from final
