-- The ratings (QĐ 766, stg_ratings) counted per year and month of the rating: what the GX suite `rating_month`
-- validates instead of millions of rows (row-level checks are SQL, check_rating_*.sql). One column per rating level
-- of the contract (config/sources.yaml ratings.MucDo: 1 rất hài lòng … 4 không hài lòng; a test keeps them equal).
-- Parameter: $years INTEGER[].
SELECT
    year,
    CAST(month(NgayDanhGia) AS INTEGER)        AS month,
    count(*)::BIGINT                           AS ratings,
    count(DISTINCT MaHoSo)::BIGINT             AS rated_dossiers,
    count(*) FILTER (WHERE MucDo = 1)::BIGINT  AS level_1,
    count(*) FILTER (WHERE MucDo = 2)::BIGINT  AS level_2,
    count(*) FILTER (WHERE MucDo = 3)::BIGINT  AS level_3,
    count(*) FILTER (WHERE MucDo = 4)::BIGINT  AS level_4
FROM stg_ratings
WHERE list_contains($years, year)
GROUP BY ALL
ORDER BY year, month
