"""What finance approved never changes, even for raw SQL (F-G2): triggers behind the service layer.

- An approved contract (and completed, expired, refunded ones) keeps its terms; its status only
  moves forward (approved → completed/expired/refunded, completed/expired → refunded); it cannot
  be deleted. Usage counters, confirmed paid and refunded totals and the closing time still move.
- Its instalment schedule is frozen with it.
- A confirmed or rejected payment, and a decided refund, are final; confirmed payments and
  approved refunds cannot be deleted.
Violations raise SQLSTATE 23514 (check_violation), which Django reports as IntegrityError.
"""

from django.db import migrations

FROZEN = "('approved', 'completed', 'expired', 'refunded')"
TERMS = [
    "agency_id", "number", "member_id", "package_id", "previous_id", "amount", "payment_type", "service_start",
    "service_end", "salesperson_id", "notes", "reject_reason", "recommendations_total", "appointments_total",
    "dedicated_matchmaker", "priority_recommendation", "created_by_id", "created_at", "submitted_at",
    "decided_by_id", "decided_at",
]  # fmt: skip


def _row(prefix):
    return "ROW(" + ", ".join(f"{prefix}.{column}" for column in TERMS) + ")"


SQL = f"""
CREATE FUNCTION finance_contract_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status IN {FROZEN} THEN
      RAISE EXCEPTION 'contract % is approved and cannot be deleted', OLD.number USING ERRCODE = '23514';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status IN {FROZEN} THEN
    IF {_row("NEW")} IS DISTINCT FROM {_row("OLD")} THEN
      RAISE EXCEPTION 'contract % is approved: its terms cannot be changed', OLD.number USING ERRCODE = '23514';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'approved' AND NEW.status IN ('completed', 'expired', 'refunded'))
        OR (OLD.status IN ('completed', 'expired') AND NEW.status = 'refunded')) THEN
      RAISE EXCEPTION 'contract % cannot go from % to %', OLD.number, OLD.status, NEW.status
        USING ERRCODE = '23514';
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_contract_guard BEFORE UPDATE OR DELETE ON finance_contract
  FOR EACH ROW EXECUTE FUNCTION finance_contract_guard();

CREATE FUNCTION finance_instalment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  frozen boolean;
BEGIN
  SELECT status IN {FROZEN} INTO frozen FROM finance_contract
   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.contract_id ELSE NEW.contract_id END;
  IF frozen OR (TG_OP = 'UPDATE' AND OLD.contract_id <> NEW.contract_id AND EXISTS (
      SELECT 1 FROM finance_contract WHERE id = OLD.contract_id AND status IN {FROZEN})) THEN
    RAISE EXCEPTION 'the instalments of an approved contract cannot be changed' USING ERRCODE = '23514';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_instalment_guard BEFORE INSERT OR UPDATE OR DELETE ON finance_instalment
  FOR EACH ROW EXECUTE FUNCTION finance_instalment_guard();

CREATE FUNCTION finance_payment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status = 'confirmed' THEN
      RAISE EXCEPTION 'payment % is confirmed and cannot be deleted', OLD.number USING ERRCODE = '23514';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'recorded' AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
    RAISE EXCEPTION 'payment % is %: it cannot be changed', OLD.number, OLD.status USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_payment_guard BEFORE UPDATE OR DELETE ON finance_payment
  FOR EACH ROW EXECUTE FUNCTION finance_payment_guard();

CREATE FUNCTION finance_refund_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status = 'approved' THEN
      RAISE EXCEPTION 'refund % is approved and cannot be deleted', OLD.number USING ERRCODE = '23514';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'applied' AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
    RAISE EXCEPTION 'refund % is %: it cannot be changed', OLD.number, OLD.status USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finance_refund_guard BEFORE UPDATE OR DELETE ON finance_refund
  FOR EACH ROW EXECUTE FUNCTION finance_refund_guard();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS finance_refund_guard ON finance_refund;
DROP FUNCTION IF EXISTS finance_refund_guard();
DROP TRIGGER IF EXISTS finance_payment_guard ON finance_payment;
DROP FUNCTION IF EXISTS finance_payment_guard();
DROP TRIGGER IF EXISTS finance_instalment_guard ON finance_instalment;
DROP FUNCTION IF EXISTS finance_instalment_guard();
DROP TRIGGER IF EXISTS finance_contract_guard ON finance_contract;
DROP FUNCTION IF EXISTS finance_contract_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
