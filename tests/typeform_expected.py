"""What the Typeform sample (`bookhook_dev.tools.typeform_samples`, `events/typeform-booking*.json`)
becomes under the shipped rules: one expectation, asserted by the mapping, the checker and the
end-to-end tests alike."""

from __future__ import annotations

from typing import Any

from bookhook_dev.testing import defaults

SAMPLE_BOOKING_KEY = "typeform:GymB00k1:a3a12ec67a1365927098a606107fac15"

SAMPLE_ADD_EVENT_BODY: dict[str, Any] = {
    "event": {
        "calendarId": defaults.CALENDAR_ID,
        "startTime": "2026-12-03T09:30:00.000Z",  # 10:30 in Prague (CET, UTC+1)
        "endTime": "2026-12-03T11:00:00.000Z",
        "title": "Training: Jan Barášek",
        "description": "Booked through Typeform at branch Vinohrady.",
        "agenda": "– Goals: Strength, Mobility\n– Level: Intermediate",
        "notifyBefore": "1h 30m",
        "blockingTo": "2026-12-03T11:00:00.000Z",
        "locationTitle": "GymRoom Vinohrady",
        "isBlocking": True,
        "attendees": [{"name": "Jan Barášek", "email": "jan@barasek.com", "phone": "+420 777123456"}],
        "type": "training",
    }
}
