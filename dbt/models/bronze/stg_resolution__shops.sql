-- One row per canonical shop (a branch of a chain) of the resolver's registry.
with

shops as (

    select * from {{ source('resolution', 'shops') }}

),

final as (

    select
        shop_id,
        shop_brand_key,
        shop_brand,
        shop_name,
        address,
        city,
        postal_code,
        country,
        tax_id,
        normalized_key,
        alias_count,
        first_seen_at
    from shops

)

select * from final
