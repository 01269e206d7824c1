"""Keep matching_matchprofile in step with members and their partner preferences, in PostgreSQL.

Statement-level triggers with transition tables: one set-based upsert per statement, so a COPY of
200,000 members or a bulk update costs one statement, not one call per row. Member updates that
change nothing the engine reads (follow-up counters, owners, notes, …) refresh nothing.
"""

from django.db import migrations

MEMBER_COLUMNS = [
    "gender", "birth_date", "status", "service_status", "height_cm", "education", "income", "marital_status",
    "children", "residence_province", "residence_city", "native_province", "native_city", "tag_ids",
]  # fmt: skip

SQL = f"""
CREATE FUNCTION matching_code(value text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN value ~ '^[0-9]{{1,9}}$' THEN value::int END
$$;

CREATE FUNCTION matching_marital_bit(value text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
  SELECT (CASE value WHEN 'never_married' THEN 1 WHEN 'divorced' THEN 2 WHEN 'divorced_children' THEN 4
                     WHEN 'widowed' THEN 8 ELSE 0 END)::smallint
$$;

CREATE FUNCTION matching_profile_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO matching_matchprofile (
    agency_id, member_id, gender, birth_date, birth_ymd, eligible, height_cm, education, income, marital_bit,
    has_children, residence_province, residence_city, native_city, tag_ids,
    pref_age_min, pref_age_max, pref_height_min, pref_height_max, pref_education_min, pref_income_min,
    pref_marital_mask, pref_accepts_children, pref_city_codes, pref_must_tag_ids, pref_nice_tag_ids)
  SELECT m.agency_id, m.id, m.gender, m.birth_date,
         (EXTRACT(YEAR FROM m.birth_date) * 10000 + EXTRACT(MONTH FROM m.birth_date) * 100
          + EXTRACT(DAY FROM m.birth_date))::int,
         m.birth_date IS NOT NULL AND m.status NOT IN ('paused', 'success', 'abandoned')
           AND m.service_status NOT IN ('paused', 'finished'),
         m.height_cm, m.education, m.income, matching_marital_bit(m.marital_status),
         CASE WHEN m.children = '' THEN NULL ELSE m.children <> 'none' END,
         matching_code(m.residence_province), matching_code(m.residence_city),
         matching_code(m.native_city), m.tag_ids,
         COALESCE(p.age_min, 0), COALESCE(p.age_max, 255), COALESCE(p.height_min, 0), COALESCE(p.height_max, 999),
         COALESCE(p.education_min, 0), COALESCE(p.income_min, 0),
         COALESCE((SELECT sum(DISTINCT matching_marital_bit(s)) FROM unnest(p.marital_statuses) AS s), 0)::smallint,
         COALESCE(p.accepts_children, true),
         COALESCE(ARRAY(SELECT matching_code(code) FROM unnest(p.city_codes) AS code
                         WHERE matching_code(code) IS NOT NULL), '{{}}'),
         COALESCE(p.must_tag_ids, '{{}}'), COALESCE(p.nice_tag_ids, '{{}}')
    FROM members_member m LEFT JOIN members_partnerpreference p ON p.member_id = m.id AND p.agency_id = m.agency_id
   WHERE m.id = ANY(ids)
  ON CONFLICT (agency_id, member_id) DO UPDATE SET
    gender = EXCLUDED.gender, birth_date = EXCLUDED.birth_date, birth_ymd = EXCLUDED.birth_ymd,
    eligible = EXCLUDED.eligible, height_cm = EXCLUDED.height_cm, education = EXCLUDED.education,
    income = EXCLUDED.income, marital_bit = EXCLUDED.marital_bit, has_children = EXCLUDED.has_children,
    residence_province = EXCLUDED.residence_province, residence_city = EXCLUDED.residence_city,
    native_city = EXCLUDED.native_city, tag_ids = EXCLUDED.tag_ids,
    pref_age_min = EXCLUDED.pref_age_min, pref_age_max = EXCLUDED.pref_age_max,
    pref_height_min = EXCLUDED.pref_height_min, pref_height_max = EXCLUDED.pref_height_max,
    pref_education_min = EXCLUDED.pref_education_min, pref_income_min = EXCLUDED.pref_income_min,
    pref_marital_mask = EXCLUDED.pref_marital_mask, pref_accepts_children = EXCLUDED.pref_accepts_children,
    pref_city_codes = EXCLUDED.pref_city_codes, pref_must_tag_ids = EXCLUDED.pref_must_tag_ids,
    pref_nice_tag_ids = EXCLUDED.pref_nice_tag_ids;
$$;

CREATE FUNCTION matching_member_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM matching_profile_refresh(ARRAY(SELECT id FROM new_rows));
  RETURN NULL;
END $$;
CREATE TRIGGER matching_member_inserted AFTER INSERT ON members_member
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION matching_member_inserted();

CREATE FUNCTION matching_member_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM matching_profile_refresh(ARRAY(
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE ROW({", ".join(f"n.{c}" for c in MEMBER_COLUMNS)}) IS DISTINCT FROM
           ROW({", ".join(f"o.{c}" for c in MEMBER_COLUMNS)})));
  RETURN NULL;
END $$;
CREATE TRIGGER matching_member_updated AFTER UPDATE ON members_member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION matching_member_updated();

CREATE FUNCTION matching_member_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM matching_matchprofile p USING old_rows o WHERE p.member_id = o.id AND p.agency_id = o.agency_id;
  RETURN NULL;
END $$;
CREATE TRIGGER matching_member_deleted AFTER DELETE ON members_member
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION matching_member_deleted();

CREATE FUNCTION matching_preference_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM matching_profile_refresh(ARRAY(SELECT member_id FROM old_rows));
  ELSE
    PERFORM matching_profile_refresh(ARRAY(SELECT member_id FROM new_rows));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER matching_preference_inserted AFTER INSERT ON members_partnerpreference
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION matching_preference_changed();
CREATE TRIGGER matching_preference_updated AFTER UPDATE ON members_partnerpreference
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION matching_preference_changed();
CREATE TRIGGER matching_preference_deleted AFTER DELETE ON members_partnerpreference
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION matching_preference_changed();

SELECT matching_profile_refresh(ARRAY(SELECT id FROM members_member));
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS matching_preference_deleted ON members_partnerpreference;
DROP TRIGGER IF EXISTS matching_preference_updated ON members_partnerpreference;
DROP TRIGGER IF EXISTS matching_preference_inserted ON members_partnerpreference;
DROP FUNCTION IF EXISTS matching_preference_changed();
DROP TRIGGER IF EXISTS matching_member_deleted ON members_member;
DROP FUNCTION IF EXISTS matching_member_deleted();
DROP TRIGGER IF EXISTS matching_member_updated ON members_member;
DROP FUNCTION IF EXISTS matching_member_updated();
DROP TRIGGER IF EXISTS matching_member_inserted ON members_member;
DROP FUNCTION IF EXISTS matching_member_inserted();
DROP FUNCTION IF EXISTS matching_profile_refresh(bigint[]);
DROP FUNCTION IF EXISTS matching_marital_bit(text);
DROP FUNCTION IF EXISTS matching_code(text);
"""


class Migration(migrations.Migration):
    dependencies = [("matching", "0001_initial"), ("members", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
