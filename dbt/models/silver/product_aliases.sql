-- One row per product spelling seen within a chain (shop_brand_key, raw_name, raw_brand).
with

product_aliases as (

    select * from {{ ref('stg_resolution__product_aliases') }}

),

final as (

    select
        alias_key,
        shop_brand_key,
        raw_name,
        raw_brand,
        product_id,
        match_method,
        match_score,
        first_seen_at
    from product_aliases

)

select * from final
