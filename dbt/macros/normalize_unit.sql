{#-
    Normalise a unit of measure as the source spells it to one of kg, g, l, ml, unit.
    Case, spaces and dots are ignored ('KG', 'Kg.', 'kilos' -> kg); spellings follow the
    resolver's (pantrypulse.resolve.normalize). A missing or empty unit means a count
    ('unit'); a spelling not listed (cl, oz, lb...) yields NULL, which a warn test flags.
-#}
{% macro normalize_unit(expr) -%}
    {{ return(adapter.dispatch('normalize_unit', 'pantrypulse')(expr)) }}
{%- endmacro %}

{% macro default__normalize_unit(expr) -%}
    {%- set spellings = {
        'kg': 'kg kgs kgr kilo kilos kilogram kilograms kilogramo kilogramos kilogramm
               kilogramme kilogrammes chilo chili',
        'g': 'g gr grs grm grms gm gms gram grams gramo gramos gramm gramme grammes grammi
              grammo',
        'l': 'l lt lts ltr ltrs liter liters litre litres litro litros litri',
        'ml': 'ml mls mltr milliliter milliliters millilitre millilitres mililitro mililitros
               millilitri',
        'unit': 'u ud uds un und unds unid unids unidad unidades uni unit units pc pcs pce
                 pces piece pieces pz pzs pza pzas pezzi pezzo pieza piezas stk stck stuck st
                 ct cnt count szt kpl stuk stuks ea each x pack packs',
    } -%}
    {%- set cleaned = "replace(replace(lower(trim(" ~ expr ~ ")), '.', ''), ' ', '')" -%}
    {%- set whens = ["when " ~ expr ~ " is null or " ~ cleaned ~ " = '' then 'unit'"] -%}
    {%- for unit, names in spellings.items() -%}
        {%- do whens.append(
            "when " ~ cleaned ~ " in ('" ~ names.split() | join("', '") ~ "') then '" ~ unit ~ "'"
        ) -%}
    {%- endfor -%}
    case {{ whens | join(' ') }} end
{%- endmacro %}
