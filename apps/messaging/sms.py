"""SMS providers behind one small interface, chosen by the SMS_BACKEND setting.

`ConsoleSmsBackend` (the default) writes each message to the log and `FileSmsBackend` appends it as
a JSON line to SMS_FILE_PATH, for development and tests. `AliyunSmsBackend` sends through Alibaba
Cloud SMS. A backend's `send()` returns the provider's id of the message (or "") and raises
`SmsError` when the provider refuses or cannot be reached.
"""

import base64
import datetime
import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider did not accept the message."""


class BaseSmsBackend:
    def send(self, *, phone: str, text: str) -> str:
        raise NotImplementedError


def get_sms_backend(path: str | None = None) -> BaseSmsBackend:
    return import_string(path or settings.SMS_BACKEND)()


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: the message goes to the log instead of a phone."""

    def send(self, *, phone: str, text: str) -> str:
        logger.info("SMS to %s: %s", phone, text)
        return ""


class FileSmsBackend(BaseSmsBackend):
    """Development and tests: one JSON object per message, appended to SMS_FILE_PATH."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, phone: str, text: str) -> str:
        message_id = uuid.uuid4().hex
        line = json.dumps(
            {"id": message_id, "at": timezone.now().isoformat(), "phone": phone, "text": text}, ensure_ascii=False
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line in append mode: concurrent workers do not interleave their lines.
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return message_id


ALIYUN_SMS_ENDPOINT = "https://dysmsapi.aliyuncs.com/"


def aliyun_percent_encode(value) -> str:
    """RFC 3986 encoding as Alibaba Cloud's RPC signature wants it: only A-Z a-z 0-9 - _ . ~ stay
    as they are; a space is %20 (never +), * is %2A, and non-ASCII text is encoded as UTF-8."""
    return quote(str(value), safe="~")


def aliyun_signature(params: dict, access_key_secret: str, method: str = "POST") -> str:
    """The Signature parameter of an Alibaba Cloud RPC API request (signature version 1.0).

    Sort the parameters (all but Signature) by name, encode each name and value, join them as
    `name=value` with `&`; sign `METHOD&%2F&<that string, encoded once more>` with HMAC-SHA1 keyed
    with the AccessKey secret followed by `&`, and Base64-encode the digest.
    """
    canonical = "&".join(
        f"{aliyun_percent_encode(name)}={aliyun_percent_encode(value)}"
        for name, value in sorted(params.items())
        if name != "Signature"
    )
    string_to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsBackend(BaseSmsBackend):
    """Alibaba Cloud SMS (dysmsapi SendSms), signed per their RPC API and posted with urllib.

    Chinese carriers only deliver approved templates, so the text goes out as the `content`
    variable of the template ALIYUN_SMS_TEMPLATE_CODE (approved in the console with `${content}`),
    under the signature ALIYUN_SMS_SIGN_NAME. Credentials: ALIYUN_SMS_ACCESS_KEY_ID and
    ALIYUN_SMS_ACCESS_KEY_SECRET; the API's address is the ALIYUN_SMS_ENDPOINT setting.
    """

    api_version = "2017-05-25"
    region = "cn-hangzhou"
    template_variable = "content"
    timeout = 10

    def __init__(
        self, *, access_key_id=None, access_key_secret=None, sign_name=None, template_code=None,
        endpoint: str | None = None,
    ):  # fmt: skip
        self.access_key_id = access_key_id or os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID", "")
        self.access_key_secret = access_key_secret or os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET", "")
        self.sign_name = sign_name or os.environ.get("ALIYUN_SMS_SIGN_NAME", "")
        self.template_code = template_code or os.environ.get("ALIYUN_SMS_TEMPLATE_CODE", "")
        endpoint = endpoint or getattr(settings, "ALIYUN_SMS_ENDPOINT", "") or ALIYUN_SMS_ENDPOINT
        if not endpoint.startswith("https://"):
            raise ImproperlyConfigured("AliyunSmsBackend only posts to an https:// endpoint")
        self.endpoint = endpoint
        missing = [
            name
            for name, value in [
                ("ALIYUN_SMS_ACCESS_KEY_ID", self.access_key_id),
                ("ALIYUN_SMS_ACCESS_KEY_SECRET", self.access_key_secret),
                ("ALIYUN_SMS_SIGN_NAME", self.sign_name),
                ("ALIYUN_SMS_TEMPLATE_CODE", self.template_code),
            ]
            if not value
        ]
        if missing:
            raise ImproperlyConfigured(f"AliyunSmsBackend needs {', '.join(missing)}")

    def request_params(
        self, *, phone: str, text: str, timestamp: datetime.datetime | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """Every parameter of the SendSms request, Signature included."""
        when = (timestamp or timezone.now()).astimezone(datetime.UTC)
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({self.template_variable: text}, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.api_version,
        }
        params["Signature"] = aliyun_signature(params, self.access_key_secret, "POST")
        return params

    def build_request(self, *, phone: str, text: str, timestamp=None, nonce=None) -> urllib.request.Request:
        params = self.request_params(phone=phone, text=text, timestamp=timestamp, nonce=nonce)
        body = "&".join(
            f"{aliyun_percent_encode(name)}={aliyun_percent_encode(value)}" for name, value in params.items()
        )
        return urllib.request.Request(  # noqa: S310 - the endpoint is checked to be https:// in __init__
            self.endpoint,
            data=body.encode("ascii"),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"},
        )

    def send(self, *, phone: str, text: str) -> str:
        request = self.build_request(phone=phone, text=text)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - https:// only
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            payload = _json_or_empty(error.read())
            if not payload:
                raise SmsError(f"Alibaba Cloud SMS answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise SmsError(f"Alibaba Cloud SMS could not be reached: {error}") from error
        if payload.get("Code") != "OK":
            raise SmsError(f"{payload.get('Code', 'Error')}: {payload.get('Message', '')}".strip())
        return str(payload.get("BizId", ""))


def _json_or_empty(raw: bytes) -> dict:
    try:
        payload = json.loads(raw.decode("utf-8"))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
