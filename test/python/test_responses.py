"""The Responses API through the built gateway with the official Python `openai` client (scripts/python-client.sh).

Reads XROUTER_URL, XROUTER_KEY (a user's key) and XROUTER_OTHER_KEY (another user's key) from the environment.
The bundled emulators answer deterministically (apps/provider-emulator/src/deterministic-answer.ts).
"""

import json
import os
import unittest

import openai

EXPECTED = "Echo: Привет из теста The provider emulator answers deterministically."
MODELS = ["GigaChat-2", "yandexgpt", "mws-gpt-alpha", "t-pro"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}


def client(key_variable: str = "XROUTER_KEY") -> openai.OpenAI:
    return openai.OpenAI(
        api_key=os.environ[key_variable], base_url=f"{os.environ['XROUTER_URL']}/v1", max_retries=0
    )


class ResponsesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = client()

    def test_text_on_every_provider(self) -> None:
        for model in MODELS:
            with self.subTest(model=model):
                response = self.client.responses.create(model=model, input="Привет из теста", store=False)
                self.assertEqual(response.status, "completed")
                self.assertTrue(response.id.startswith("resp_"))
                self.assertEqual(response.output_text, EXPECTED)
                self.assertEqual(response.usage.input_tokens, 3)

    def test_function_call_round_trip(self) -> None:
        for model in MODELS:
            with self.subTest(model=model):
                first = self.client.responses.create(model=model, input="Москва", tools=[WEATHER], store=False)
                call = next(item for item in first.output if item.type == "function_call")
                self.assertEqual(call.name, "get_weather")
                self.assertEqual(json.loads(call.arguments), {"city": "Москва"})
                second = self.client.responses.create(
                    model=model,
                    tools=[WEATHER],
                    store=False,
                    input=[
                        {"role": "user", "content": "Москва"},
                        *[item.model_dump(exclude_none=True) for item in first.output],
                        {"type": "function_call_output", "call_id": call.call_id, "output": '{"t": -3}'},
                    ],
                )
                self.assertIn("Tool result:", second.output_text)

    def test_stream_helpers(self) -> None:
        for model in MODELS:
            with self.subTest(model=model):
                deltas = []
                with self.client.responses.stream(model=model, input="Привет из теста", store=False) as stream:
                    for event in stream:
                        if event.type == "response.output_text.delta":
                            deltas.append(event.delta)
                    final = stream.get_final_response()
                self.assertEqual("".join(deltas), EXPECTED)
                self.assertEqual(final.output_text, EXPECTED)
                self.assertEqual(final.status, "completed")

    def test_raw_stream_events(self) -> None:
        events = list(self.client.responses.create(model="yandexgpt", input="hi", stream=True, store=False))
        self.assertEqual(events[0].type, "response.created")
        self.assertEqual(events[-1].type, "response.completed")
        self.assertEqual([e.sequence_number for e in events], list(range(len(events))))

    def test_stored_response_continuation_and_deletion(self) -> None:
        first = self.client.responses.create(model="GigaChat-2", input="Меня зовут Пётр", metadata={"k": "v"})
        second = self.client.responses.create(
            model="GigaChat-2", input="Как меня зовут?", previous_response_id=first.id
        )
        self.assertEqual(second.usage.input_tokens, 15)
        self.assertEqual(self.client.responses.retrieve(first.id).output_text, first.output_text)
        items = self.client.responses.input_items.list(second.id)
        self.assertEqual([item.content[0].text for item in items.data], ["Как меня зовут?"])

        stranger = client("XROUTER_OTHER_KEY")
        with self.assertRaises(openai.NotFoundError):
            stranger.responses.retrieve(first.id)
        with self.assertRaises(openai.NotFoundError):
            stranger.responses.delete(first.id)

        self.client.responses.delete(first.id)
        with self.assertRaises(openai.NotFoundError):
            self.client.responses.retrieve(first.id)

    def test_refusals_name_the_field(self) -> None:
        cases = [
            ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
            ({"background": True}, "background"),
            ({"include": ["reasoning.encrypted_content"]}, "include"),
            ({"truncation": "auto"}, "truncation"),
        ]
        for extra, param in cases:
            with self.subTest(param=param):
                with self.assertRaises(openai.BadRequestError) as caught:
                    self.client.responses.create(model="GigaChat-2", input="hi", store=False, **extra)
                self.assertEqual(caught.exception.param, param)


if __name__ == "__main__":
    unittest.main()
