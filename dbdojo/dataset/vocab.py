"""Fixed words and places the generator draws from (real Dutch cities, product vocabulary)."""

from __future__ import annotations

TIMEZONE = "Europe/Amsterdam"
COUNTRY = ("Netherlands", "NL")

# city name, code, centre (lat, lon), population weight, zones, zones with a depot
CITIES: list[tuple[str, str, tuple[float, float], float, list[str], int]] = [
    (
        "Amsterdam",
        "AMS",
        (52.3676, 4.9041),
        0.34,
        ["Centrum", "Noord", "Oost", "West", "Zuid", "Nieuw-West", "Zuidoost", "Westpoort"],
        4,
    ),
    (
        "Rotterdam",
        "RTM",
        (51.9244, 4.4777),
        0.24,
        ["Centrum", "Noord", "Kralingen", "Delfshaven", "Feijenoord", "Charlois"],
        3,
    ),
    (
        "Den Haag",
        "DHG",
        (52.0705, 4.3007),
        0.19,
        ["Centrum", "Scheveningen", "Segbroek", "Escamp", "Laak", "Haagse Hout"],
        3,
    ),
    (
        "Utrecht",
        "UTR",
        (52.0907, 5.1214),
        0.14,
        ["Binnenstad", "Oost", "Noordoost", "Leidsche Rijn", "Overvecht"],
        3,
    ),
    (
        "Eindhoven",
        "EHV",
        (51.4416, 5.4697),
        0.09,
        ["Centrum", "Strijp", "Woensel-Noord", "Woensel-Zuid", "Gestel"],
        2,
    ),
]

STREETS = [
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Julianalaan",
    "Beatrixlaan", "Parallelweg", "Industrieweg", "Havenstraat", "Marktplein", "Lindelaan",
]  # fmt: skip

NAME_LOCALES = ["nl_NL", "nl_NL", "nl_NL", "de_DE", "tr_TR", "pl_PL", "fr_FR", "es_ES", "en_GB"]
EMAIL_DOMAINS = ["gmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "hotmail.com", "proton.me"]

# category: (weight, sku prefix, price range EUR, tags, adjectives, nouns)
CATEGORIES: dict[str, tuple[float, str, tuple[float, float], list[str], list[str], list[str]]] = {
    "restaurant": (
        0.40,
        "RES",
        (6.0, 28.0),
        ["vegan", "vegetarian", "spicy", "bestseller", "new", "family_size", "halal"],
        ["Crispy", "Smoked", "Grilled", "Spicy", "Classic", "Homemade", "Roasted", "Creamy"],
        ["burger", "pizza", "ramen", "curry", "salad", "wrap", "poke bowl", "pasta", "sushi",
         "falafel", "shawarma", "noodles", "taco", "soup"],
    ),
    "grocery": (
        0.20,
        "GRO",
        (0.5, 15.0),
        ["organic", "local", "bestseller", "discount", "vegan", "fair_trade"],
        ["Organic", "Fresh", "Whole", "Free-range", "Local", "Premium", "Fairtrade"],
        ["bananas", "milk", "eggs", "coffee", "rice", "apples", "cheese", "yoghurt", "tomatoes",
         "olive oil", "oat drink", "chocolate", "tea", "bread flour"],
    ),
    "bakery": (
        0.12,
        "BAK",
        (1.0, 25.0),
        ["bestseller", "gluten_free", "vegan", "seasonal", "new"],
        ["Sourdough", "Butter", "Almond", "Whole-grain", "Cinnamon", "Chocolate", "Rye"],
        ["loaf", "croissant", "cake", "cookies", "bun", "apple pie", "stroopwafels", "muffin"],
    ),
    "pharmacy": (
        0.10,
        "PHA",
        (2.0, 40.0),
        ["prescription", "otc", "sensitive", "bestseller", "travel"],
        ["Gentle", "Extra-strength", "Daily", "Sensitive", "Fast-acting", "Natural"],
        ["painkiller", "vitamin C", "sunscreen", "hand cream", "cough syrup", "plasters",
         "allergy tablets", "toothpaste", "shampoo"],
    ),
    "electronics": (
        0.10,
        "ELE",
        (9.0, 600.0),
        ["wireless", "bestseller", "refurbished", "new", "eco"],
        ["Wireless", "Compact", "Pro", "Ultra", "Portable", "Smart", "Noise-cancelling"],
        ["headphones", "charger", "power bank", "speaker", "keyboard", "mouse", "cable",
         "smartwatch", "webcam", "phone case"],
    ),
    "florist": (
        0.08,
        "FLO",
        (8.0, 75.0),
        ["seasonal", "bestseller", "local", "gift", "sustainable"],
        ["Spring", "Romantic", "Wild", "Sunny", "Elegant", "Dutch", "Pastel"],
        ["tulips", "roses", "bouquet", "sunflowers", "orchid", "peonies", "lilies", "succulent"],
    ),
}  # fmt: skip

MERCHANT_PATTERNS = {
    "restaurant": ["{name}'s Kitchen", "Eetcafe {name}", "{name} Street Food", "Restaurant {name}"],
    "grocery": ["Supermarkt {name}", "{name} Versmarkt", "Buurtwinkel {name}"],
    "bakery": ["Bakkerij {name}", "{name} Bakery", "Banketbakkerij {name}"],
    "pharmacy": ["Apotheek {name}", "{name} Drogisterij"],
    "electronics": ["{name} Electronics", "TechHuis {name}"],
    "florist": ["Bloemen {name}", "{name} Flowers"],
}

DESCRIPTION_OPENERS = [
    "{adj} {noun} from {merchant}.",
    "Our {adj_l} {noun}, made the way our customers love it.",
    "{adj} {noun}: a favourite in {city}.",
    "Try the {adj_l} {noun}, delivered fast to your door.",
]
DESCRIPTION_DETAILS = {
    "restaurant": ["Freshly cooked to order.", "Served hot with a side of fries.",
                   "Contains nuts and gluten.", "Perfect for sharing with friends.",
                   "Made with fresh herbs and a secret sauce."],
    "grocery": ["Sourced from local farms.", "Keep refrigerated after opening.",
                "Great value for everyday cooking.", "Certified organic and fair trade."],
    "bakery": ["Baked fresh every morning.", "Made with real butter and free-range eggs.",
               "A crunchy crust with a soft inside.", "Gluten-free option available."],
    "pharmacy": ["Read the leaflet before use.", "Suitable for sensitive skin.",
                 "Fast relief for headache and fever.", "Pack for your holiday travel."],
    "electronics": ["Battery lasts all day.", "Includes a USB-C charging cable.",
                    "Bluetooth wireless connection with low latency.", "Two-year warranty."],
    "florist": ["Hand-tied by our florists.", "Long-lasting fresh flowers.",
                "A colourful gift for birthdays and anniversaries.", "Vase available."],
}  # fmt: skip

REVIEW_PHRASES = {
    1: ["Order arrived cold and late.", "The driver never showed up.", "Missing items, no refund.",
        "Terrible experience, food was spilled.", "Waited over an hour, never again."],
    2: ["Late delivery and the packaging was damaged.", "Food was cold.",
        "Driver was rude on the phone.", "Wrong item delivered."],
    3: ["Okay, but the delivery was slow.", "Average, nothing special.",
        "Food fine, driver could not find the address.", "Decent but a bit expensive."],
    4: ["Good food, quick delivery.", "Friendly driver, arrived on time.",
        "Tasty and still warm.", "Nice packaging, will order again."],
    5: ["Excellent! Super fast delivery.", "Amazing food and a very friendly driver.",
        "Best bakery in town, still warm.", "Perfect as always, thank you!",
        "Fresh flowers, beautiful bouquet.", "Fast, friendly and careful with the parcel."],
}  # fmt: skip

ORDER_NOTES = [
    "Leave at the door", "Ring twice please", "Call when outside", "3rd floor, no elevator",
    "Do not ring, baby sleeping", "Back entrance", "Leave with the neighbours at number 12",
]  # fmt: skip

STATUS_NOTES = {"failed": ["customer not home", "address not found", "parcel damaged"]}

JOB_TITLES = {
    1: ("Chief Executive Officer", "Executive"),
    3: ("City Manager", "Operations"),
    4: ("Depot Manager", "Operations"),
    5: ("Shift Lead", "Operations"),
    6: ("Dispatcher", "Operations"),
}
DIRECTORS = [
    ("Director of Operations", "Operations"),
    ("Director of Finance", "Finance"),
    ("Director of Technology", "Technology"),
    ("Director of People", "People"),
]
HQ_TITLES = {
    "Finance": "Financial Analyst",
    "Technology": "Software Engineer",
    "People": "HR Business Partner",
}
