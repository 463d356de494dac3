-- Infrastructure return (one per agency and year). No return: every indicator NULL.
-- Flags: numerator = the flag, denominator = 1. security_measures = (firewall + antivirus + backup) / 3.
INSERT INTO egov_indicator_parts
SELECT a.year, a.agency_code, m.indicator_code, m.numerator, m.denominator
FROM egov_agencies AS a
LEFT JOIN stg_infrastructure AS i USING (year, agency_code),
LATERAL (SELECT unnest([
    {'indicator_code': 'computers_per_staff',     'numerator': i.computers::DOUBLE,          'denominator': i.staff_count::DOUBLE},
    {'indicator_code': 'internet_computer_ratio', 'numerator': i.computers_internet::DOUBLE, 'denominator': i.computers::DOUBLE},
    {'indicator_code': 'has_lan',                 'numerator': i.has_lan::DOUBLE,            'denominator': CASE WHEN i.agency_code IS NOT NULL THEN 1.0 END},
    {'indicator_code': 'security_assessed',       'numerator': i.security_assessed::DOUBLE,  'denominator': CASE WHEN i.agency_code IS NOT NULL THEN 1.0 END},
    {'indicator_code': 'offline_computer_secret', 'numerator': i.offline_computer_secret::DOUBLE, 'denominator': CASE WHEN i.agency_code IS NOT NULL THEN 1.0 END},
    {'indicator_code': 'security_measures',       'numerator': (i.has_firewall + i.has_antivirus + i.has_backup)::DOUBLE,
                                                  'denominator': CASE WHEN i.agency_code IS NOT NULL THEN 3.0 END}
], recursive := TRUE)) AS m;
