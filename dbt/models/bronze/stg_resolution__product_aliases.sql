-- One row per product spelling seen within a shop chain, mapped to its canonical product.
with

product_aliases as (

    select * from {{ source('resolution', 'product_aliases') }}

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
