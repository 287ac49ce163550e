-- One row per canonical product (stable product_id from the resolver).
with

products as (

    select * from {{ ref('stg_resolution__products') }}

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
        alias_count,
        normalized_key,
        first_seen_at
    from products

)

select * from final
