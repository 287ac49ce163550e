-- One row per shop spelling seen (the six raw shop fields, '' for null).
with

shop_aliases as (

    select * from {{ ref('stg_resolution__shop_aliases') }}

),

final as (

    select
        alias_key,
        raw_name,
        raw_brand,
        raw_address,
        raw_city,
        raw_postal_code,
        raw_tax_id,
        shop_id,
        match_method,
        match_score,
        first_seen_at
    from shop_aliases

)

select * from final
