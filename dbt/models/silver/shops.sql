-- One row per canonical shop, a branch of a chain (stable shop_id from the resolver).
with

shops as (

    select * from {{ ref('stg_resolution__shops') }}

),

final as (

    select
        shop_id,
        shop_name,
        shop_brand,
        shop_brand_key,
        address,
        city,
        postal_code,
        country,
        tax_id,
        alias_count,
        normalized_key,
        first_seen_at
    from shops

)

select * from final
