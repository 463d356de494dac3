-- Parsing rules of the raw contracts (docs/domain.md §3), as DuckDB macros so every source parses alike.
-- Each macro takes the raw text (already trimmed, '' turned into NULL) and returns NULL when the text is
-- not a valid value: the loader then quarantines the row, naming the column and the text.

-- Whether a number in scientific notation is whole, read from its text (a DECIMAL cast would round "1.5e0" to 2):
-- its digits without the separator and trailing zeros ("1.50e1": "15") all lie before the decimal point once the
-- exponent has moved it (1 + 1 = 2 digits in).
CREATE OR REPLACE MACRO egov_sci_is_whole(s) AS
    length(rtrim(regexp_replace(regexp_extract(s, '[0-9][0-9.,]*'), '[.,]', '', 'g'), '0'))
        <= greatest(length(regexp_extract(s, '[0-9]+'))
                    + CAST(regexp_extract(s, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0);

-- Whole numbers: "1234", "1.234" / "1,234" / "1 234" (thousands groups), "12.0" (an Excel float), and scientific
-- notation when its value is whole: "1E3" = 1000, "1.5e1" = 15, "2,5E+03" = 2500 (a decimal comma); "1.5e0" is not
-- whole (NULL). At most 18 digits in every form, as a typed Parquet integer (readers.NATIVE): a longer number is
-- NULL, not a conversion error that would reject the whole file.
CREATE OR REPLACE MACRO egov_int(s) AS
    CASE
        WHEN regexp_full_match(s, '[+-]?[0-9]{1,18}') THEN CAST(s AS BIGINT)
        WHEN regexp_full_match(s, '[+-]?[0-9]{1,3}([., ][0-9]{3}){1,5}')
            THEN CAST(regexp_replace(s, '[., ]', '', 'g') AS BIGINT)
        WHEN regexp_full_match(s, '[+-]?[0-9]{1,18}[.,]0+') THEN CAST(regexp_extract(s, '^[+-]?[0-9]+') AS BIGINT)
        WHEN regexp_full_match(s, '[+-]?[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]{1,4}') AND egov_sci_is_whole(s)
            THEN CAST(TRY_CAST(replace(s, ',', '.') AS DECIMAL(18, 0)) AS BIGINT)
    END;

-- A number `x` parsed from the text `s`, or NULL when the text's value has no DOUBLE: not finite ("inf", "NaN",
-- "1e999"), or a non-zero value that would become 0 ("1e-400").
CREATE OR REPLACE MACRO egov_finite(x, s) AS
    CASE WHEN isfinite(x) AND (x <> 0 OR NOT regexp_matches(s, '^[^eE]*[1-9]')) THEN x END;

-- Decimals: "89.5", Vietnamese "89,5", "1.234,5", "1,234.5", and what statistics packages and spreadsheets write:
-- scientific notation ("9.207108589519956e-06" from Python or R, "1E3", "9,20711E-06" from an Excel with a decimal
-- comma) and a leading separator (".5" from Stata or SPSS). "inf", "NaN", "1e999", "1e-400": NULL (egov_finite).
CREATE OR REPLACE MACRO egov_decimal(s) AS egov_finite(
    CASE
        WHEN regexp_full_match(s, '[+-]?[0-9]+(\.[0-9]+)?') THEN CAST(s AS DOUBLE)
        WHEN regexp_full_match(s, '[+-]?[0-9]+,[0-9]+') THEN CAST(replace(s, ',', '.') AS DOUBLE)
        WHEN regexp_full_match(s, '[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?')
            THEN CAST(replace(replace(s, '.', ''), ',', '.') AS DOUBLE)
        WHEN regexp_full_match(s, '[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?') THEN CAST(replace(s, ',', '') AS DOUBLE)
        WHEN regexp_full_match(s, '[+-]?([0-9]+([.,][0-9]+)?|[.,][0-9]+)([eE][+-]?[0-9]+)?')
            THEN TRY_CAST(replace(s, ',', '.') AS DOUBLE)
    END, s);

-- Flags 0/1 (also true/false, có/không, and an Excel "1.0").
CREATE OR REPLACE MACRO egov_flag(s) AS
    CASE
        WHEN lower(s) IN ('0', '0.0', 'false', 'không', 'no', 'n') THEN 0
        WHEN lower(s) IN ('1', '1.0', 'true', 'có', 'yes', 'y', 'x') THEN 1
    END;

-- Dates: ISO yyyy-mm-dd or dd/mm/yyyy (an Excel datetime "yyyy-mm-dd 00:00:00" too). 31/02 is NULL.
CREATE OR REPLACE MACRO egov_date(s) AS
    CAST(try_strptime(s, ['%Y-%m-%d', '%d/%m/%Y', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%d-%m-%Y']) AS DATE);

-- Dossier timestamps: yyyyMMddHHmmss local time; ISO and dd/mm/yyyy forms are accepted too.
CREATE OR REPLACE MACRO egov_timestamp(s) AS
    try_strptime(s, ['%Y%m%d%H%M%S', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%d/%m/%Y %H:%M:%S',
                     '%d/%m/%Y %H:%M', '%Y%m%d%H%M', '%Y%m%d', '%Y-%m-%d', '%d/%m/%Y']);

-- Service level: 1-4, "mức độ 3", or the Decree 42/2022 labels "một phần" (3) / "toàn trình" (4).
-- Empty means not online (NULL) and is valid; anything else is -1, which the loader quarantines.
CREATE OR REPLACE MACRO egov_level(s) AS
    CASE
        WHEN s IS NULL THEN NULL
        WHEN regexp_full_match(lower(s), '(mức( độ)?\s*)?[1-4](\.0)?') THEN CAST(regexp_extract(s, '[1-4]') AS INTEGER)
        WHEN lower(s) IN ('một phần', 'mot phan', 'dvc trực tuyến một phần', 'trực tuyến một phần') THEN 3
        WHEN lower(s) IN ('toàn trình', 'toan trinh', 'dvc trực tuyến toàn trình', 'trực tuyến toàn trình') THEN 4
        ELSE -1
    END;
