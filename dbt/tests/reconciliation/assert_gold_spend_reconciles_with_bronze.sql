-- Gold monthly and yearly spend each equal the sum of line_total over the latest revision of
-- every accepted invoice, recomputed from staging; compared as decimals to the cent.
with

deliveries as (

    select * from {{ ref('stg_bronze__invoices') }}

),

delivery_lines as (

    select * from {{ ref('stg_bronze__invoice_lines') }}

),

spend_monthly as (

    select * from {{ ref('fct_spend_monthly') }}

),

spend_yearly as (

    select * from {{ ref('fct_spend_yearly') }}

),

expected as (

    select {{ to_money('round(coalesce(sum(delivery_lines.line_total), 0), 2)') }} as spend
    from delivery_lines
    inner join deliveries
        on delivery_lines.delivery_key = deliveries.delivery_key
    where deliveries.is_latest_revision

),

monthly as (

    select {{ to_money('round(coalesce(sum(spend), 0), 2)') }} as spend
    from spend_monthly

),

yearly as (

    select {{ to_money('round(coalesce(sum(spend), 0), 2)') }} as spend
    from spend_yearly

),

final as (

    select
        expected.spend as expected_spend,
        monthly.spend as monthly_spend,
        yearly.spend as yearly_spend
    from expected
    cross join monthly
    cross join yearly

)

select * from final
where expected_spend != monthly_spend or expected_spend != yearly_spend
