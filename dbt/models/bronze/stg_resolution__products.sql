-- One row per canonical product of the resolver's registry.
with

products as (

    select * from {{ source('resolution', 'products') }}

),

final as (

    select
        product_id,
        product_name,
        product_brand,
        product_type,
        size_value,
        size_unit,
        pack_count,
        normalized_key,
        alias_count,
        first_seen_at
    from products

)

select * from final
