-- One row per accepted delivery x invoice line: line fields parsed from raw_json, unit normalised.
with

invoices_raw as (

    select * from {{ ref('base_bronze__invoices_raw') }}

),

line_items as (

    select
        {{ delivery_key('invoices_raw') }} as delivery_key,
        {{ json_extract_text('invoices_raw.raw_json', '$.invoice_id') }} as invoice_id,
        line_elements.line_position,
        line_elements.line_json
    from invoices_raw
    {{ json_unnest_array(
        'invoices_raw.raw_json', '$.lines', 'line_elements', 'line_json', 'line_position'
    ) }}

),

parsed as (

    select
        delivery_key,
        invoice_id,
        {{ to_int('line_position') }} as line_position,
        {{ to_int(json_extract_text('line_json', '$.line_no')) }} as line_no,
        {{ json_extract_text('line_json', '$.product_name') }} as product_name,
        {{ json_extract_text('line_json', '$.product_brand') }} as product_brand,
        {{ json_extract_text('line_json', '$.category') }} as category,
        {{ to_measure(json_extract_text('line_json', '$.quantity')) }} as quantity,
        {{ json_extract_text('line_json', '$.unit') }} as unit_raw,
        {{ to_measure(json_extract_text('line_json', '$.unit_price')) }} as unit_price,
        {{ to_money(json_extract_text('line_json', '$.discount')) }} as discount,
        {{ to_money(json_extract_text('line_json', '$.line_total')) }} as line_total
    from line_items

),

final as (

    select
        delivery_key,
        invoice_id,
        line_position,
        line_no,
        product_name,
        product_brand,
        category,
        quantity,
        {{ normalize_unit('unit_raw') }} as unit,
        unit_raw,
        unit_price,
        coalesce(discount, {{ to_money('0') }}) as discount,
        line_total
    from parsed

)

select * from final
