-- Capacity return: internal IT use, people and policy. No return: every indicator NULL.
-- staff_count comes from the same year's infrastructure return (the capacity return has no head count).
INSERT INTO egov_indicator_parts
SELECT a.year, a.agency_code, m.indicator_code, m.numerator, m.denominator
FROM egov_agencies AS a
LEFT JOIN stg_capacity AS c USING (year, agency_code)
LEFT JOIN stg_infrastructure AS i USING (year, agency_code),
LATERAL (SELECT unnest([
    {'indicator_code': 'edoc_ratio',                'numerator': c.docs_sent_electronic::DOUBLE,      'denominator': c.docs_sent_total::DOUBLE},
    {'indicator_code': 'esign_ratio',               'numerator': c.docs_signed_digital::DOUBLE,       'denominator': c.docs_sent_electronic::DOUBLE},
    {'indicator_code': 'official_email_ratio',      'numerator': c.staff_with_email::DOUBLE,          'denominator': CASE WHEN c.agency_code IS NOT NULL THEN i.staff_count::DOUBLE END},
    {'indicator_code': 'it_staff_present',          'numerator': (c.it_staff >= 1)::INTEGER::DOUBLE,  'denominator': CASE WHEN c.agency_code IS NOT NULL THEN 1.0 END},
    {'indicator_code': 'staff_it_trained_ratio',    'numerator': c.staff_it_trained::DOUBLE,          'denominator': CASE WHEN c.agency_code IS NOT NULL THEN i.staff_count::DOUBLE END},
    {'indicator_code': 'it_security_trained_ratio', 'numerator': c.it_staff_security_trained::DOUBLE, 'denominator': c.it_staff::DOUBLE},
    {'indicator_code': 'has_it_plan',               'numerator': c.has_it_plan::DOUBLE,               'denominator': CASE WHEN c.agency_code IS NOT NULL THEN 1.0 END},
    {'indicator_code': 'has_it_regulation',         'numerator': c.has_it_regulation::DOUBLE,         'denominator': CASE WHEN c.agency_code IS NOT NULL THEN 1.0 END},
    {'indicator_code': 'has_it_budget',             'numerator': (c.it_budget_vnd > 0)::INTEGER::DOUBLE, 'denominator': CASE WHEN c.agency_code IS NOT NULL THEN 1.0 END}
], recursive := TRUE)) AS m;
