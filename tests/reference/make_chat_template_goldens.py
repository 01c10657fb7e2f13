#!/usr/bin/python3
"""Renders the real chat templates in tests/data/chat_templates/ with Debian's
python3-jinja2, set up as transformers' apply_chat_template sets it up, and
writes the outputs to tests/data/chat_templates/golden.json for test_jinja.

    /usr/bin/python3 tests/reference/make_chat_template_goldens.py

The environment (transformers, utils/chat_template_utils.py, read for facts):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]); the tojson filter is json.dumps(x,
ensure_ascii=False, indent=…, separators=…, sort_keys=…); globals
raise_exception (raises TemplateError) and strftime_now (pinned here to
2025-03-14 09:26:53 so the goldens are reproducible); render variables
messages, tools=None, documents=None, add_generation_prompt, the tokenizer's
special tokens (bos_token, eos_token where the model has them) and extra
keyword arguments (enable_thinking). transformers' generation-tag tracker
does not change the text and is left out.

Each golden row is one (template, conversation, add_generation_prompt, extra)
and holds the rendered text (without the generation prompt also
"assistant_spans": for each assistant message k, the UTF-8 byte range that
rendering messages[:k+1] adds to rendering messages[:k] with the generation
prompt, where both are prefixes of the whole text — the tokens the loss counts,
docs/chat-templates.md), or the exception message when the template
refuses the conversation (raise_exception, or Python refusing an operation
such as str + dict): then test_jinja expects an error.
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "chat_templates")
NOW = datetime.datetime(2025, 3, 14, 9, 26, 53)

# Special tokens per template, as the model's tokenizer_config.json has them
# (SOURCES.md says where each template comes from).
TEMPLATES = {
    "llama2": {"bos_token": "<s>", "eos_token": "</s>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3_1": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3_2": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "qwen2_5": {"eos_token": "<|im_end|>"},
    "qwen3": {"eos_token": "<|im_end|>"},
    "smollm2": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "mistral_v0_1": {"bos_token": "<s>", "eos_token": "</s>"},
    "mistral_v0_3": {"bos_token": "<s>", "eos_token": "</s>"},
    "mistral_nemo": {"bos_token": "<s>", "eos_token": "</s>"},
    "gemma3": {"bos_token": "<bos>", "eos_token": "<end_of_turn>"},
    "deepseek_r1": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hello, how are you?"}],
    "user_assistant": [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "2 + 2 = 4."},
    ],
    "system_multi_turn": [
        SYSTEM,
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another one?"},
        {"role": "assistant", "content": "Green."},
    ],
    "system_user": [SYSTEM, {"role": "user", "content": "Tell me a joke."}],
    "unicode_and_escapes": [
        {"role": "system", "content": "  Réponds en français — «poliment».\n"},
        {"role": "user", "content": "naïve café 日本語 🤖 عربى\té\u0301 \"quoted\" back\\slash {{ not a tag }} {% neither %}"},
        {"role": "assistant", "content": "\n  Voilà : <b>ok</b> & done\u00a0\n\n"},
        {"role": "user", "content": "line1\r\nline2\n\nline3   "},
    ],
    "empty_content": [
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
    ],
    "think_in_content": [
        {"role": "user", "content": "Is 7 prime?"},
        {"role": "assistant", "content": "<think>\nIt has no divisors but 1 and 7.\n</think>\n\nYes, 7 is prime."},
        {"role": "user", "content": "And 9?"},
        {"role": "assistant", "content": "<think>\n9 = 3 × 3.\n</think>\n\nNo."},
    ],
    "reasoning_content": [
        SYSTEM,
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris.", "reasoning_content": "The capital of France is Paris."},
        {"role": "user", "content": "And of Italy?"},
    ],
    "tool_calls": [
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {
                "city": "Zürich", "unit": "°C", "days": 3, "ratio": 0.5, "big": 1e20, "tiny": 1e-7,
                "flags": [True, False, None], "nested": {"q": "a\"b\\c\n"}}}}]},
        {"role": "tool", "content": "{\"temp\": 21.5}"},
        {"role": "assistant", "content": "It is 21.5 °C."},
    ],
    "two_users": [
        {"role": "user", "content": "First."},
        {"role": "user", "content": "Second."},
    ],
}

# Small templates for the constructs one by one (whitespace control, scoping,
# loop variables, filters, tests, methods, Python printing of values).
SNIPPETS = [
    ("lstrip_trim", "a\n  {% if true %}\n  b\n  {% endif %}\nc\n", {}),
    ("dash_control", "x  {%- if true -%}  y  {%- endif -%}\n\n z {{- ' w ' -}} v", {}),
    ("plus_keeps_indent", "a\n    {%+ if true %}b{% endif %}\n", {}),
    ("comment_trim", "a\n  {# note #}\nb {#- x -#} c", {}),
    ("var_no_trim", "  {{ 'v' }}\nnext", {}),
    ("trailing_newlines", "one\n\n", {}),
    ("crlf_source", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("for_scope", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("if_scope", "{% if true %}{% set z = 5 %}{% endif %}{{ z }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}"
                  "{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("loop_vars", "{% for m in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                  "{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('a', 'b') }};{% endfor %}",
     {"items": ["x", "y", "z"]}),
    ("loop_filter_else", "{% for m in items if m > 1 %}{{ m }}/{{ loop.length }} {% else %}none{% endfor %}"
                         "{% for m in [] %}x{% else %}empty{% endfor %}", {"items": [1, 2, 3]}),
    ("loop_controls", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}"
                      "{% endif %}{{ i }}{% endfor %}", {}),
    ("unpack", "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}|{% for k, v in d | items %}{{ k }}{% endfor %}",
     {"d": {"b": 1, "a": [1, 2]}}),
    ("slices", "{{ s[::-1] }}|{{ s[1:] }}|{{ s[:-1] }}|{{ s[1:4:2] }}|{{ l[::-1] }}|{{ l[-2:] }}|{{ s[0] }}{{ s[-1] }}",
     {"s": "héllo😀", "l": [1, 2, 3, 4]}),
    ("printing", "{{ none }}|{{ true }}|{{ [1, 'a', none, \"it's\", 'q\"'] }}|{{ {'a': 1, 'b': [2.5]} }}|{{ 1.0 }}|{{ 1e20 }}"
                 "|{{ 7 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ 2 ** 10 }}|{{ 0.1 + 0.2 }}|{{ (1, 2) }}|{{ 1e-5 }}",
     {}),
    ("undefined", "[{{ missing }}]{{ missing | length }}{{ missing is defined }}{{ d.nokey is defined }}"
                  "{{ 'x' in missing }}{{ missing ~ 'y' }}{{ d.nokey | default('dflt') }}{{ '' | default('e', true) }}",
     {"d": {}}),
    ("tests", "{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ 1 is integer }}{{ 1.5 is float }}"
              "{{ d is mapping }}{{ 'a' is iterable }}{{ l is sequence }}{{ none is none }}{{ true is true }}"
              "{{ false is false }}{{ 1 is true }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
              "{{ 'a' is in 'abc' }}{{ 2 is equalto 2 }}{{ l is not string }}", {"d": {}, "l": [1]}),
    ("operators", "{{ 1 + 2 * 3 }}|{{ 'a' ~ 1 ~ none }}|{{ 'ab' * 2 }}|{{ 1 < 2 < 3 }}|{{ 'b' in 'abc' }}"
                  "|{{ 'x' not in ['x'] }}|{{ not 1 == 2 }}|{{ 0 or 'y' }}|{{ 'x' and 0 }}|{{ 'y' if false }}|"
                  "{{ 'y' if 0 else 'n' }}|{{ [1] + [2] }}|{{ -3 | abs }}", {}),
    ("string_methods", "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ t.strip('xy') }}|{{ t.lstrip('x') }}"
                       "|{{ t.rstrip('y') }}|{{ c.split(',') }}|{{ s.split() }}|{{ c.split(',', 1) }}"
                       "|{{ t.startswith('xa') }}{{ t.endswith(('q', 'y')) }}|{{ 'AbC'.upper() }}{{ 'AbC'.lower() }}"
                       "|{{ 'hello world-x'.title() }}|{{ 'hELLO'.capitalize() }}|{{ c.replace(',', ';') }}"
                       "|{{ c.replace(',', ';', 1) }}|{{ '-'.join(['a', 'b']) }}",
     {"s": " \u3000 pad\u00a0 \n", "t": "xxaby", "c": "a,b,,c"}),
    ("filters", "{{ s | trim }}|{{ s | length }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello wORLD-x(y' | title }}"
                "|{{ 'hELLO' | capitalize }}|{{ 'aXa' | replace('a', 'b') }}|{{ l | first }}{{ l | last }}"
                "|{{ l | join(', ') }}|{{ 'ab' | list }}|{{ 3.7 | int }}{{ '42' | int }}{{ 'x' | int }}"
                "|{{ 2.567 | round(2) }}{{ 2.5 | round }}|{{ 5 | string }}{{ 'x' | safe }}|{{ l | reverse | list }}"
                "|{{ msgs | map(attribute='role') | join(',') }}|{{ msgs | selectattr('role', 'equalto', 'user') | list | length }}"
                "|{{ msgs | rejectattr('role', 'equalto', 'user') | map(attribute='content') | list }}"
                "|{{ ['a', 'code', 'b'] | reject('equalto', 'code') | join(',') }}|{{ msgs | selectattr('tool') | list }}",
     {"s": "  x y  ", "l": [3, 1, 2],
      "msgs": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "tool": 1}]}),
    ("indent", "{{ t | indent }}|{{ t | indent(2, true) }}|{{ t | indent(2, first=true, blank=true) }}|{{ t | indent('> ') }}",
     {"t": "a\n\nb\n  c"}),
    ("tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ l | tojson }}|{{ 'é\u2028\x01' | tojson }}"
               "|{{ d | tojson(separators=(',', ':')) }}",
     {"d": {"z": 1, "a": "ü\"\\\n\t", "n": None, "b": [True, 1.5, 1e100, -0.0], "e": {}, "el": []},
      "l": [1, [2, [3, {}]]]}),
    ("dict_methods", "{{ d.get('a') }}{{ d.get('zz') }}{{ d.get('zz', 7) }}|{{ d.keys() | list }}|{{ d.values() | list }}"
                     "|{{ d['a'] }}{{ d.a }}|{{ 'a' in d }}", {"d": {"a": 1, "b": 2}}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} "
              "{{ greet('Bob', '?') }} {{ greet(name='Cy', punct='.') }}", {}),
    ("block_set", "{% set block %}\n  inner {{ 1 + 1 }}\n{% endset %}[{{ block }}]", {}),
    ("strftime", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j') }}", {}),
    ("string_escapes", "{{ 'a\\nb\\tc\\x41\\u00e9\\\\ \\d' }}|{{ \"it's\" }}|{{ 'x' 'y' }}", {}),
    ("nested_data", "{% for m in messages %}{{ m.role }}:{{ m['content'] | trim }}{% if m.tool_calls %}"
                    "{% for c in m.tool_calls %}[{{ c.function.name }} {{ c.function.arguments | tojson }}]{% endfor %}"
                    "{% endif %};{% endfor %}",
     {"messages": [{"role": "user", "content": " q "},
                   {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}]}),
    ("raise", "line one\n{% if fail %}\n{{ raise_exception('Bad role: ' ~ role) }}\n{% endif %}", {"fail": True, "role": "x"}),
]

# Templates x conversations x add_generation_prompt, plus Qwen3's enable_thinking.
EXTRAS = {"qwen3": [{}, {"enable_thinking": True}, {"enable_thinking": False}]}


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(fmt):
    return NOW.strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def assistant_spans(compiled, messages, tokens, extra, full):
    spans, pos = [], 0
    for k, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        before = compiled.render(messages=messages[:k], tools=None, documents=None, add_generation_prompt=True,
                                 **tokens, **extra)
        with_k = compiled.render(messages=messages[:k + 1], tools=None, documents=None, add_generation_prompt=False,
                                 **tokens, **extra)
        b, w = len(before.encode("utf-8")), len(with_k.encode("utf-8"))
        if b >= pos and with_k.startswith(before) and full.startswith(with_k):
            spans.append([b, w])
            pos = w
    return spans


def main():
    env = environment()
    rows = []
    for name, tokens in sorted(TEMPLATES.items()):
        with open(os.path.join(DATA, name + ".jinja"), encoding="utf-8", newline="") as f:
            compiled = env.from_string(f.read())
        for conv_name, messages in CONVERSATIONS.items():
            for extra in EXTRAS.get(name, [{}]):
                for agp in (False, True):
                    row = {"template": name, "conversation": conv_name, "add_generation_prompt": agp, "extra": extra}
                    try:
                        row["output"] = compiled.render(messages=messages, tools=None, documents=None,
                                                        add_generation_prompt=agp, **tokens, **extra)
                        if not agp:
                            row["assistant_spans"] = assistant_spans(compiled, messages, tokens, extra, row["output"])
                    except TemplateError as e:  # raise_exception (jinja2's own errors subclass it too)
                        row["error"] = str(e)
                        row["error_kind"] = type(e).__name__
                    except (TypeError, ValueError) as e:  # Python refusing an operation (str + dict)
                        row["error"] = str(e)
                        row["error_kind"] = type(e).__name__
                    rows.append(row)
    snippets = []
    for name, source, variables in SNIPPETS:
        row = {"name": name, "source": source, "variables": variables}
        try:
            row["output"] = env.from_string(source).render(**variables)
        except TemplateError as e:
            row["error"] = str(e)
            row["error_kind"] = type(e).__name__
        snippets.append(row)
    golden = {
        "generator": "tests/reference/make_chat_template_goldens.py with python3-jinja2 " + jinja2.__version__,
        "now": NOW.strftime("%Y-%m-%d %H:%M:%S"),
        "templates": TEMPLATES,
        "conversations": CONVERSATIONS,
        "rows": rows,
        "snippets": snippets,
    }
    with open(os.path.join(DATA, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("error" in r for r in rows)
    print(f"{len(rows)} renders ({errors} refused by the template) -> tests/data/chat_templates/golden.json")


if __name__ == "__main__":
    main()
