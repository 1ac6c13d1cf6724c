"""A fuzzy dict in ordinary code: free-text user input mapped to configuration entries.
====================================================================================

The values are categories (setting names), so the answer is the entry with the
most weight. The defaults read by meaning and add spelling only where a phrase's
letters match a key beyond chance, so paraphrases and typos both find their
setting, and input unlike every phrase is a clean miss.

A sentence encoder hears "too small" as close to "smaller": with only the keys,
"the letters are too small" reads "make the text smaller" at weight 0.94, the
opposite of what the user wants. Aliases, other ways of saying a setting, fix
that where the direction matters.
"""

from softkv import SoftDict

settings = SoftDict(
    {
        "dark mode": "theme=dark",
        "light mode": "theme=light",
        "make the text bigger": "font.size=+2",
        "make the text smaller": "font.size=-2",
        "turn off notifications": "notifications=off",
        "turn on notifications": "notifications=on",
        "change the language to French": "locale=fr",
        "change the language to German": "locale=de",
        "log out": "session=end",
    },
)
settings.add("make the text bigger", "font.size=+2", aliases=["the text is too small", "I can't read this"])
settings.add("make the text smaller", "font.size=-2", aliases=["the text is too big"])

requests = [
    "switch to the dark theme",
    "the letters are too small",
    "I can barely read the words",
    "the font is too large",
    "stop sending me alerts",
    "je préfère le français",
    "sign me out",
    "turn of notifcations",
    "what is the capital of Peru?",
]

for text in requests:
    entry = settings.get(text, "(no matching setting)")
    print(f"{text!r:35} -> {entry}")

# The weights show how sure the match is.
r = settings.lookup("the letters are too small")
print()
print("weight per setting:", {entry: round(w, 3) for entry, w in list(r.distribution.items())[:3]})
for key, weight, score in r.top(2):
    print(f"  {weight:.2f} from {key!r} (score {score:.2f})")
