"""The closed vocabularies of a member profile (F-C1, F-C2, F-C4).

Education and income are ordered integers so that "at least a bachelor's degree" or "at least
12,000 a month" is one indexed comparison in SQL, for the list filters and the match engine alike.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Status(models.TextChoices):
    """Where the member is in the agency's lifecycle (F-C4)."""

    LEAD = "lead", _("Lead")
    FOLLOWING = "following", _("Following up")
    SIGNED = "signed", _("Signed")
    IN_SERVICE = "in_service", _("In service")
    PAUSED = "paused", _("Paused")
    SUCCESS = "success", _("Success")
    ABANDONED = "abandoned", _("Abandoned")


class ServiceStatus(models.TextChoices):
    """The state of after-sale service under the member's contract."""

    NONE = "none", _("Not in service")
    ACTIVE = "active", _("Being served")
    PAUSED = "paused", _("Service paused")
    FINISHED = "finished", _("Service finished")
    EXPIRED = "expired", _("Service expired")


class Source(models.TextChoices):
    SITE_REGISTRATION = "site_registration", _("Site registration")
    CONSULTATION = "consultation", _("Consultation")
    OELOVE = "oelove", _("OElove sync")
    MANUAL = "manual", _("Manual entry")
    IMPORT = "import", _("Excel import")


class Education(models.IntegerChoices):
    JUNIOR_HIGH = 1, _("Junior high or below")
    HIGH_SCHOOL = 2, _("High school / vocational")
    ASSOCIATE = 3, _("Associate degree")
    BACHELOR = 4, _("Bachelor's degree")
    MASTER = 5, _("Master's degree")
    DOCTORATE = 6, _("Doctorate")


class Income(models.IntegerChoices):
    """Monthly income bands in RMB."""

    UNDER_3K = 1, _("Under 3,000")
    FROM_3K = 2, _("3,000-5,000")
    FROM_5K = 3, _("5,000-8,000")
    FROM_8K = 4, _("8,000-12,000")
    FROM_12K = 5, _("12,000-20,000")
    FROM_20K = 6, _("20,000-30,000")
    FROM_30K = 7, _("30,000-50,000")
    OVER_50K = 8, _("Over 50,000")


class MaritalStatus(models.TextChoices):
    NEVER_MARRIED = "never_married", _("Never married")
    DIVORCED_NO_CHILDREN = "divorced", _("Divorced, no children")
    DIVORCED_WITH_CHILDREN = "divorced_children", _("Divorced, with children")
    WIDOWED = "widowed", _("Widowed")


class Children(models.TextChoices):
    NONE = "none", _("No children")
    WITH_ME = "with_me", _("Children living with me")
    NOT_WITH_ME = "not_with_me", _("Children not living with me")


class Housing(models.TextChoices):
    OWN = "own", _("Own home, no mortgage")
    OWN_MORTGAGE = "own_mortgage", _("Own home with mortgage")
    RENT = "rent", _("Renting")
    WITH_PARENTS = "with_parents", _("Living with parents")
    OTHER = "other", _("Other")


class Habit(models.TextChoices):
    NEVER = "never", _("Never")
    SOMETIMES = "sometimes", _("Sometimes")
    OFTEN = "often", _("Often")


class TagKind(models.TextChoices):
    HARD = "hard", _("Hard condition")
    INTERESTS = "interests", _("Interests")
    VALUES = "values", _("Values")
    PERSONALITY = "personality", _("Personality")
    LIFESTYLE = "lifestyle", _("Lifestyle")


class FamilyRelation(models.TextChoices):
    FATHER = "father", _("Father")
    MOTHER = "mother", _("Mother")
    SIBLING = "sibling", _("Sibling")
    CHILD = "child", _("Child")
    OTHER = "other", _("Other")


class AttachmentKind(models.TextChoices):
    ID_CARD = "id_card", _("ID card")
    DIPLOMA = "diploma", _("Diploma")
    INCOME = "income", _("Income proof")
    PROPERTY = "property", _("Property certificate")
    OTHER = "other", _("Other")


# The Chinese zodiac sign of a birth year: (year - 4) % 12 indexes this list (1900 was a Rat year).
# Approximate for births in January-February, before the lunar new year.
CHINESE_ZODIAC = [
    _("Rat"), _("Ox"), _("Tiger"), _("Rabbit"), _("Dragon"), _("Snake"),
    _("Horse"), _("Goat"), _("Monkey"), _("Rooster"), _("Dog"), _("Pig"),
]  # fmt: skip
