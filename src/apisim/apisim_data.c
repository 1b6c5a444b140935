/* SPDX-License-Identifier: Apache-2.0 */
/* apisim_data.c -- per-nationality names, places and formats the simulated users draw from. */
#include "apisim_internal.h"

#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- AU ---- */
static const char *const au_m[] = {"Jack", "Oliver", "William", "Noah", "Thomas", "Lachlan",
                                   "Harrison", "Cooper", "Riley", "Lucas"};
static const char *const au_f[] = {"Charlotte", "Olivia", "Mia", "Ava", "Isla", "Chloe",
                                   "Sienna", "Matilda", "Ruby", "Grace"};
static const char *const au_l[] = {"Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor",
                                   "Nguyen", "Johnson", "Martin", "White", "Anderson", "Walker"};
static const struct apisim_city au_c[] = {
    {"Sydney", "New South Wales"}, {"Newcastle", "New South Wales"},
    {"Melbourne", "Victoria"}, {"Geelong", "Victoria"}, {"Brisbane", "Queensland"},
    {"Cairns", "Queensland"}, {"Perth", "Western Australia"}, {"Adelaide", "South Australia"},
    {"Hobart", "Tasmania"}, {"Darwin", "Northern Territory"},
    {"Canberra", "Australian Capital Territory"}};
static const char *const au_s[] = {"George Street", "Pitt Street", "Victoria Road",
                                   "Church Street", "Railway Parade", "Bay Road"};

/* ---- BR ---- */
static const char *const br_m[] = {"João", "Pedro", "Lucas", "Gabriel", "Matheus", "Rafael",
                                   "Gustavo", "Felipe", "Thiago", "Leonardo"};
static const char *const br_f[] = {"Maria", "Ana", "Juliana", "Fernanda", "Beatriz", "Larissa",
                                   "Camila", "Letícia", "Mariana", "Gabriela"};
static const char *const br_l[] = {"Silva", "Santos", "Oliveira", "Souza", "Rodrigues",
                                   "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Araújo",
                                   "Conceição"};
static const struct apisim_city br_c[] = {
    {"São Paulo", "São Paulo"}, {"Campinas", "São Paulo"},
    {"Rio de Janeiro", "Rio de Janeiro"}, {"Niterói", "Rio de Janeiro"},
    {"Belo Horizonte", "Minas Gerais"}, {"Salvador", "Bahia"}, {"Fortaleza", "Ceará"},
    {"Recife", "Pernambuco"}, {"Curitiba", "Paraná"}, {"Porto Alegre", "Rio Grande do Sul"},
    {"Manaus", "Amazonas"}, {"Belém", "Pará"}};
static const char *const br_s[] = {"Rua São José", "Rua Quinze de Novembro", "Avenida Brasil",
                                   "Rua Sete de Setembro", "Rua da Paz", "Rua Santa Luzia"};

/* ---- CA ---- */
static const char *const ca_m[] = {"Liam", "Noah", "William", "Benjamin", "Logan", "Ethan",
                                   "Félix", "Nathan", "Owen", "Samuel"};
static const char *const ca_f[] = {"Emma", "Olivia", "Charlotte", "Chloé", "Léa", "Sophie",
                                   "Ava", "Emily", "Zoé", "Abigail"};
static const char *const ca_l[] = {"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Smith",
                                   "Brown", "Martin", "Wilson", "MacDonald", "Lavoie", "Fortin"};
static const struct apisim_city ca_c[] = {
    {"Toronto", "Ontario"}, {"Ottawa", "Ontario"}, {"Montréal", "Québec"},
    {"Québec", "Québec"}, {"Vancouver", "British Columbia"}, {"Victoria", "British Columbia"},
    {"Calgary", "Alberta"}, {"Edmonton", "Alberta"}, {"Winnipeg", "Manitoba"},
    {"Halifax", "Nova Scotia"}, {"Regina", "Saskatchewan"},
    {"St. John's", "Newfoundland and Labrador"}};
static const char *const ca_s[] = {"Main St", "King St", "Queen St", "Rue Principale",
                                   "Maple Ave", "Dufferin St"};

/* ---- CH ---- */
static const char *const ch_m[] = {"Luca", "Noah", "Leon", "Liam", "Matteo", "Gabriel",
                                   "Samuel", "Élias", "Nico", "Jonas"};
static const char *const ch_f[] = {"Mia", "Emma", "Lina", "Léa", "Sofia", "Mila", "Elena",
                                   "Chiara", "Lara", "Anna"};
static const char *const ch_l[] = {"Müller", "Meier", "Schmid", "Keller", "Weber", "Huber",
                                   "Schneider", "Meyer", "Steiner", "Fischer", "Rochat",
                                   "Bernasconi"};
static const struct apisim_city ch_c[] = {
    {"Zürich", "Zürich"}, {"Winterthur", "Zürich"}, {"Genève", "Genève"},
    {"Basel", "Basel-Stadt"}, {"Lausanne", "Vaud"}, {"Bern", "Bern"}, {"Biel/Bienne", "Bern"},
    {"Luzern", "Luzern"}, {"St. Gallen", "St. Gallen"}, {"Lugano", "Ticino"},
    {"Fribourg", "Fribourg"}, {"Neuchâtel", "Neuchâtel"}};
static const char *const ch_s[] = {"Bahnhofstrasse", "Rue du Marché", "Dorfstrasse",
                                   "Via Nassa", "Hauptstrasse", "Chemin des Vignes"};

/* ---- DE ---- */
static const char *const de_m[] = {"Lukas", "Jonas", "Leon", "Finn", "Paul", "Felix",
                                   "Maximilian", "Jürgen", "Björn", "Uwe"};
static const char *const de_f[] = {"Anna", "Lena", "Marie", "Sophie", "Hannah", "Lea",
                                   "Jutta", "Käthe", "Brigitte", "Sabine"};
static const char *const de_l[] = {"Müller", "Schmidt", "Schneider", "Fischer", "Weber",
                                   "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer",
                                   "Köhler"};
static const struct apisim_city de_c[] = {
    {"Berlin", "Berlin"}, {"München", "Bayern"}, {"Nürnberg", "Bayern"},
    {"Hamburg", "Hamburg"}, {"Köln", "Nordrhein-Westfalen"},
    {"Düsseldorf", "Nordrhein-Westfalen"}, {"Dortmund", "Nordrhein-Westfalen"},
    {"Frankfurt am Main", "Hessen"}, {"Stuttgart", "Baden-Württemberg"},
    {"Leipzig", "Sachsen"}, {"Dresden", "Sachsen"}, {"Hannover", "Niedersachsen"},
    {"Bremen", "Bremen"}};
static const char *const de_s[] = {"Hauptstraße", "Schulstraße", "Gartenstraße",
                                   "Bahnhofstraße", "Lindenstraße", "Mühlenweg", "Kirchplatz"};

/* ---- DK ---- */
static const char *const dk_m[] = {"Mads", "Frederik", "Oliver", "Magnus", "Emil", "Søren",
                                   "Rasmus", "Anders", "Jens", "Mikkel"};
static const char *const dk_f[] = {"Freja", "Ida", "Emma", "Clara", "Mathilde", "Sofie",
                                   "Anne", "Karen", "Mette", "Signe"};
static const char *const dk_l[] = {"Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen",
                                   "Christensen", "Larsen", "Sørensen", "Rasmussen",
                                   "Jørgensen", "Petersen", "Madsen"};
static const struct apisim_city dk_c[] = {
    {"København", "Hovedstaden"}, {"Frederiksberg", "Hovedstaden"},
    {"Aarhus", "Midtjylland"}, {"Herning", "Midtjylland"}, {"Odense", "Syddanmark"},
    {"Esbjerg", "Syddanmark"}, {"Aalborg", "Nordjylland"}, {"Roskilde", "Sjælland"},
    {"Næstved", "Sjælland"}, {"Randers", "Midtjylland"}, {"Kolding", "Syddanmark"}};
static const char *const dk_s[] = {"Vestergade", "Østergade", "Nørregade", "Søndergade",
                                   "Kirkevej", "Skovvej", "Åboulevarden"};

/* ---- ES ---- */
static const char *const es_m[] = {"Hugo", "Martín", "Lucas", "Daniel", "Pablo", "Alejandro",
                                   "Álvaro", "Adrián", "José", "Iñigo"};
static const char *const es_f[] = {"Lucía", "Sofía", "María", "Martina", "Paula", "Julia",
                                   "Valeria", "Noelia", "Inés", "Begoña"};
static const char *const es_l[] = {"García", "Rodríguez", "González", "Fernández", "López",
                                   "Martínez", "Sánchez", "Pérez", "Gómez", "Martín",
                                   "Jiménez", "Muñoz"};
static const struct apisim_city es_c[] = {
    {"Madrid", "Comunidad de Madrid"}, {"Alcalá de Henares", "Comunidad de Madrid"},
    {"Barcelona", "Cataluña"}, {"Girona", "Cataluña"}, {"Valencia", "Comunidad Valenciana"},
    {"Alicante", "Comunidad Valenciana"}, {"Sevilla", "Andalucía"}, {"Málaga", "Andalucía"},
    {"Zaragoza", "Aragón"}, {"Bilbao", "País Vasco"}, {"A Coruña", "Galicia"},
    {"Palma de Mallorca", "Islas Baleares"}};
static const char *const es_s[] = {"Calle Mayor", "Calle de Alcalá",
                                   "Avenida de la Constitución", "Calle del Sol",
                                   "Paseo de Gracia", "Calle Real"};

/* ---- FI ---- */
static const char *const fi_m[] = {"Juho", "Eetu", "Mikko", "Väinö", "Aleksi", "Onni", "Eino",
                                   "Jukka", "Matti", "Oskari"};
static const char *const fi_f[] = {"Aino", "Eevi", "Helmi", "Venla", "Aada", "Siiri", "Elina",
                                   "Sanni", "Iida", "Pihla"};
static const char *const fi_l[] = {"Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä",
                                   "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen",
                                   "Lehtonen", "Saarinen"};
static const struct apisim_city fi_c[] = {
    {"Helsinki", "Uusimaa"}, {"Espoo", "Uusimaa"}, {"Vantaa", "Uusimaa"},
    {"Tampere", "Pirkanmaa"}, {"Turku", "Varsinais-Suomi"}, {"Oulu", "Pohjois-Pohjanmaa"},
    {"Jyväskylä", "Keski-Suomi"}, {"Kuopio", "Pohjois-Savo"}, {"Lahti", "Päijät-Häme"},
    {"Pori", "Satakunta"}, {"Rovaniemi", "Lappi"}};
static const char *const fi_s[] = {"Hämeenkatu", "Mannerheimintie", "Aleksanterinkatu",
                                   "Esplanadi", "Pispalan valtatie", "Rautatienkatu"};

/* ---- FR ---- */
static const char *const fr_m[] = {"Lucas", "Hugo", "Louis", "Gabriel", "Théo", "Mathéo",
                                   "Raphaël", "Clément", "Noël", "Jérôme"};
static const char *const fr_f[] = {"Léa", "Chloé", "Manon", "Camille", "Inès", "Zoé",
                                   "Louise", "Maëlys", "Océane", "Élise"};
static const char *const fr_l[] = {"Martin", "Bernard", "Dubois", "Thomas", "Robert",
                                   "Richard", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre",
                                   "Girard"};
static const struct apisim_city fr_c[] = {
    {"Paris", "Île-de-France"}, {"Versailles", "Île-de-France"},
    {"Lyon", "Auvergne-Rhône-Alpes"}, {"Grenoble", "Auvergne-Rhône-Alpes"},
    {"Marseille", "Provence-Alpes-Côte d'Azur"}, {"Nice", "Provence-Alpes-Côte d'Azur"},
    {"Toulouse", "Occitanie"}, {"Montpellier", "Occitanie"},
    {"Bordeaux", "Nouvelle-Aquitaine"}, {"Nantes", "Pays de la Loire"},
    {"Strasbourg", "Grand Est"}, {"Lille", "Hauts-de-France"}, {"Rennes", "Bretagne"}};
static const char *const fr_s[] = {"Rue de la République", "Rue Victor-Hugo",
                                   "Avenue Jean-Jaurès", "Rue Pasteur", "Place de la Mairie",
                                   "Rue des Écoles"};

/* ---- GB ---- */
static const char *const gb_m[] = {"Oliver", "George", "Harry", "Jack", "Charlie", "Alfie",
                                   "Freddie", "Archie", "Thomas", "James"};
static const char *const gb_f[] = {"Olivia", "Amelia", "Isla", "Ava", "Emily", "Poppy",
                                   "Sophie", "Jessica", "Lily", "Grace"};
static const char *const gb_l[] = {"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson",
                                   "Johnson", "Davies", "Robinson", "Wright", "Thompson",
                                   "Evans"};
static const struct apisim_city gb_c[] = {
    {"London", "Greater London"}, {"Croydon", "Greater London"},
    {"Manchester", "Greater Manchester"}, {"Birmingham", "West Midlands"},
    {"Coventry", "West Midlands"}, {"Leeds", "West Yorkshire"},
    {"Sheffield", "South Yorkshire"}, {"Liverpool", "Merseyside"}, {"Bristol", "Bristol"},
    {"Newcastle upon Tyne", "Tyne and Wear"}, {"Edinburgh", "Lothian"},
    {"Glasgow", "Strathclyde"}, {"Cardiff", "South Glamorgan"}, {"Belfast", "County Antrim"}};
static const char *const gb_s[] = {"High Street", "Station Road", "Church Lane",
                                   "Victoria Road", "Green Lane", "Manor Road", "Park Avenue"};

/* ---- IE ---- */
static const char *const ie_m[] = {"Jack", "James", "Noah", "Conor", "Seán", "Darragh",
                                   "Cian", "Oisín", "Patrick", "Fionn"};
static const char *const ie_f[] = {"Emily", "Grace", "Fiadh", "Sophie", "Aoife", "Saoirse",
                                   "Niamh", "Siobhán", "Ciara", "Róisín"};
static const char *const ie_l[] = {"Murphy", "Kelly", "O'Sullivan", "Walsh", "Smith",
                                   "O'Brien", "Byrne", "Ryan", "O'Connor", "O'Neill",
                                   "McCarthy", "Doyle"};
static const struct apisim_city ie_c[] = {
    {"Dublin", "Dublin"}, {"Swords", "Fingal"}, {"Cork", "Cork"}, {"Limerick", "Limerick"},
    {"Galway", "Galway"}, {"Waterford", "Waterford"}, {"Drogheda", "Louth"},
    {"Dundalk", "Louth"}, {"Kilkenny", "Kilkenny"}, {"Sligo", "Sligo"}, {"Tralee", "Kerry"},
    {"Ennis", "Clare"}};
static const char *const ie_s[] = {"Main Street", "O'Connell Street", "Church Road",
                                   "The Crescent", "Grafton Street", "Patrick Street"};

/* ---- IN ---- */
static const char *const in_m[] = {"Aarav", "Vihaan", "Arjun", "Rohan", "Aditya", "Sai",
                                   "Ishaan", "Kabir", "Rahul", "Vikram"};
static const char *const in_f[] = {"Aanya", "Diya", "Ananya", "Saanvi", "Priya", "Isha",
                                   "Kavya", "Meera", "Riya", "Pooja"};
static const char *const in_l[] = {"Sharma", "Patel", "Reddy", "Singh", "Kumar", "Iyer",
                                   "Nair", "Gupta", "Mehta", "Das", "Rao", "Joshi"};
static const struct apisim_city in_c[] = {
    {"Mumbai", "Maharashtra"}, {"Pune", "Maharashtra"}, {"Delhi", "Delhi"},
    {"Bengaluru", "Karnataka"}, {"Mysuru", "Karnataka"}, {"Chennai", "Tamil Nadu"},
    {"Hyderabad", "Telangana"}, {"Kolkata", "West Bengal"}, {"Ahmedabad", "Gujarat"},
    {"Jaipur", "Rajasthan"}, {"Lucknow", "Uttar Pradesh"}, {"Kochi", "Kerala"}};
static const char *const in_s[] = {"MG Road", "Station Road", "Gandhi Nagar", "Nehru Marg",
                                   "Park Street", "Ring Road"};

/* ---- IR (Persian script; the ascii form after '|') ---- */
static const char *const ir_m[] = {"محمد|mohammad", "علی|ali", "حسین|hossein", "رضا|reza",
                                   "امیر|amir", "مهدی|mehdi", "آرش|arash", "سینا|sina",
                                   "پارسا|parsa", "کیان|kian"};
static const char *const ir_f[] = {"فاطمه|fatemeh", "زهرا|zahra", "مریم|maryam",
                                   "نازنین|nazanin", "سارا|sara", "نیلوفر|niloofar",
                                   "مهسا|mahsa", "یاسمن|yasaman", "پریا|pariya", "آیدا|aida"};
static const char *const ir_l[] = {"محمدی|mohammadi", "حسینی|hosseini", "احمدی|ahmadi",
                                   "رضایی|rezaei", "موسوی|mousavi", "کریمی|karimi",
                                   "جعفری|jafari", "صادقی|sadeghi", "رحیمی|rahimi",
                                   "کاظمی|kazemi", "نوری|nouri", "طاهری|taheri"};
static const struct apisim_city ir_c[] = {
    {"تهران", "تهران"}, {"مشهد", "خراسان رضوی"}, {"اصفهان", "اصفهان"}, {"شیراز", "فارس"},
    {"تبریز", "آذربایجان شرقی"}, {"کرج", "البرز"}, {"اهواز", "خوزستان"}, {"قم", "قم"},
    {"رشت", "گیلان"}, {"کرمان", "کرمان"}, {"یزد", "یزد"}, {"همدان", "همدان"}};
static const char *const ir_s[] = {"خیابان آزادی", "خیابان ولیعصر", "میدان امام حسین",
                                   "خیابان انقلاب", "کوچه بهار", "بلوار کشاورز"};

/* ---- MX ---- */
static const char *const mx_m[] = {"Santiago", "Mateo", "Sebastián", "Leonardo", "Emiliano",
                                   "Diego", "José Luis", "Alejandro", "Ángel", "Jesús"};
static const char *const mx_f[] = {"Sofía", "Valentina", "Regina", "Ximena", "Camila",
                                   "María José", "Guadalupe", "Fernanda", "Renata", "Andrea"};
static const char *const mx_l[] = {"Hernández", "García", "Martínez", "López", "González",
                                   "Pérez", "Rodríguez", "Sánchez", "Ramírez", "Cruz",
                                   "Flores", "Gómez"};
static const struct apisim_city mx_c[] = {
    {"Ciudad de México", "Ciudad de México"}, {"Guadalajara", "Jalisco"},
    {"Zapopan", "Jalisco"}, {"Monterrey", "Nuevo León"}, {"Puebla", "Puebla"},
    {"Tijuana", "Baja California"}, {"León", "Guanajuato"}, {"Mérida", "Yucatán"},
    {"Cancún", "Quintana Roo"}, {"Querétaro", "Querétaro"}, {"Oaxaca", "Oaxaca"},
    {"Toluca", "Estado de México"}};
static const char *const mx_s[] = {"Avenida Reforma", "Calle Juárez", "Calle Hidalgo",
                                   "Avenida Insurgentes", "Calle Morelos", "Privada Guerrero"};

/* ---- NL ---- */
static const char *const nl_m[] = {"Daan", "Sem", "Lucas", "Levi", "Finn", "Bram", "Thijs",
                                   "Jesse", "Ruben", "Sven"};
static const char *const nl_f[] = {"Emma", "Julia", "Tess", "Sophie", "Zoë", "Fenna", "Sara",
                                   "Anouk", "Lotte", "Noor"};
static const char *const nl_l[] = {"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk",
                                   "Bakker", "Janssen", "Visser", "Smit", "Meijer", "de Boer",
                                   "Mulder"};
static const struct apisim_city nl_c[] = {
    {"Amsterdam", "Noord-Holland"}, {"Haarlem", "Noord-Holland"},
    {"Rotterdam", "Zuid-Holland"}, {"Den Haag", "Zuid-Holland"}, {"Leiden", "Zuid-Holland"},
    {"Utrecht", "Utrecht"}, {"Eindhoven", "Noord-Brabant"}, {"Tilburg", "Noord-Brabant"},
    {"Groningen", "Groningen"}, {"Almere", "Flevoland"}, {"Nijmegen", "Gelderland"},
    {"Maastricht", "Limburg"}};
static const char *const nl_s[] = {"Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg",
                                   "Stationsweg", "Prinsengracht"};

/* ---- NO ---- */
static const char *const no_m[] = {"Jakob", "Emil", "Noah", "Oliver", "Filip", "Henrik",
                                   "Aksel", "Ola", "Håkon", "Øystein"};
static const char *const no_f[] = {"Nora", "Emma", "Sara", "Sofie", "Ingrid", "Maja", "Frida",
                                   "Solveig", "Åse", "Kjersti"};
static const char *const no_l[] = {"Hansen", "Johansen", "Olsen", "Larsen", "Andersen",
                                   "Pedersen", "Nilsen", "Kristiansen", "Jensen", "Karlsen",
                                   "Haugen", "Bjørnstad"};
static const struct apisim_city no_c[] = {
    {"Oslo", "Oslo"}, {"Bergen", "Vestland"}, {"Trondheim", "Trøndelag"},
    {"Stavanger", "Rogaland"}, {"Drammen", "Buskerud"}, {"Fredrikstad", "Østfold"},
    {"Kristiansand", "Agder"}, {"Tromsø", "Troms"}, {"Ålesund", "Møre og Romsdal"},
    {"Bodø", "Nordland"}, {"Lillehammer", "Innlandet"}};
static const char *const no_s[] = {"Storgata", "Kirkeveien", "Skolegata",
                                   "Bjørnstjerne Bjørnsons gate", "Fjordveien", "Åsveien"};

/* ---- NZ ---- */
static const char *const nz_m[] = {"Oliver", "Jack", "Noah", "Leo", "George", "Nikau", "Ari",
                                   "Liam", "Hunter", "Mason"};
static const char *const nz_f[] = {"Isla", "Charlotte", "Amelia", "Olivia", "Aroha", "Mia",
                                   "Harper", "Ruby", "Mereana", "Māia"};
static const char *const nz_l[] = {"Smith", "Williams", "Wilson", "Brown", "Taylor", "Ngata",
                                   "Parata", "Tipene", "Tāwhiao", "Anderson", "Thompson",
                                   "Walker"};
static const struct apisim_city nz_c[] = {
    {"Auckland", "Auckland"}, {"Wellington", "Wellington"}, {"Lower Hutt", "Wellington"},
    {"Christchurch", "Canterbury"}, {"Hamilton", "Waikato"}, {"Tauranga", "Bay of Plenty"},
    {"Dunedin", "Otago"}, {"Palmerston North", "Manawatu-Wanganui"},
    {"Napier", "Hawke's Bay"}, {"Nelson", "Nelson"}, {"Rotorua", "Bay of Plenty"},
    {"Whangārei", "Northland"}};
static const char *const nz_s[] = {"Queen Street", "Great North Road", "Victoria Street",
                                   "Kāinga Road", "Station Road", "Beach Road"};

/* ---- RS (Cyrillic) ---- */
static const char *const rs_m[] = {"Милош|milos", "Никола|nikola", "Стефан|stefan",
                                   "Лука|luka", "Марко|marko", "Душан|dusan",
                                   "Немања|nemanja", "Огњен|ognjen", "Вук|vuk",
                                   "Лазар|lazar"};
static const char *const rs_f[] = {"Милица|milica", "Јована|jovana", "Ана|ana",
                                   "Теодора|teodora", "Марија|marija", "Јелена|jelena",
                                   "Сара|sara", "Катарина|katarina", "Драгана|dragana",
                                   "Мина|mina"};
static const char *const rs_l[] = {"Јовановић|jovanovic", "Петровић|petrovic",
                                   "Николић|nikolic", "Марковић|markovic",
                                   "Ђорђевић|djordjevic", "Стојановић|stojanovic",
                                   "Илић|ilic", "Станковић|stankovic", "Павловић|pavlovic",
                                   "Милошевић|milosevic", "Поповић|popovic",
                                   "Живковић|zivkovic"};
static const struct apisim_city rs_c[] = {
    {"Београд", "Град Београд"}, {"Нови Сад", "Јужнобачки"}, {"Ниш", "Нишавски"},
    {"Крагујевац", "Шумадијски"}, {"Суботица", "Севернобачки"},
    {"Зрењанин", "Средњобанатски"}, {"Панчево", "Јужнобанатски"}, {"Чачак", "Моравички"},
    {"Краљево", "Рашки"}, {"Ваљево", "Колубарски"}, {"Лесковац", "Јабланички"},
    {"Смедерево", "Подунавски"}};
static const char *const rs_s[] = {"Кнеза Михаила", "Булевар ослобођења", "Његошева",
                                   "Карађорђева", "Светог Саве", "Цара Душана"};

/* ---- TR ---- */
static const char *const tr_m[] = {"Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan",
                                   "İbrahim", "Yusuf", "Emre", "Çağan"};
static const char *const tr_f[] = {"Zeynep", "Elif", "Ayşe", "Fatma", "Emine", "Hatice",
                                   "Merve", "Büşra", "Özge", "Gülşen"};
static const char *const tr_l[] = {"Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız",
                                   "Yıldırım", "Öztürk", "Aydın", "Özdemir", "Arslan", "Doğan"};
static const struct apisim_city tr_c[] = {
    {"İstanbul", "İstanbul"}, {"Ankara", "Ankara"}, {"İzmir", "İzmir"}, {"Bursa", "Bursa"},
    {"Antalya", "Antalya"}, {"Konya", "Konya"}, {"Adana", "Adana"},
    {"Gaziantep", "Gaziantep"}, {"Şanlıurfa", "Şanlıurfa"}, {"Kayseri", "Kayseri"},
    {"Eskişehir", "Eskişehir"}, {"Trabzon", "Trabzon"}};
static const char *const tr_s[] = {"Atatürk Cd", "İstiklal Cd", "Cumhuriyet Cd", "Bağdat Cd",
                                   "Kıbrıs Şehitleri Cd", "Fatih Sultan Mehmet Cd"};

/* ---- UA (Cyrillic) ---- */
static const char *const ua_m[] = {"Олександр|oleksandr", "Андрій|andriy", "Дмитро|dmytro",
                                   "Максим|maksym", "Тарас|taras", "Богдан|bogdan",
                                   "Ярослав|yaroslav", "Назар|nazar", "Остап|ostap",
                                   "Віталій|vitaliy"};
static const char *const ua_f[] = {"Олена|olena", "Наталія|nataliya", "Оксана|oksana",
                                   "Ірина|iryna", "Юлія|yuliya", "Катерина|kateryna",
                                   "Софія|sofiya", "Анастасія|anastasiya", "Ганна|ganna",
                                   "Мирослава|myroslava"};
static const char *const ua_l[] = {"Шевченко|shevchenko", "Коваленко|kovalenko",
                                   "Бондаренко|bondarenko", "Ткаченко|tkachenko",
                                   "Кравченко|kravchenko", "Олійник|oliynyk",
                                   "Мельник|melnyk", "Лисенко|lysenko", "Руденко|rudenko",
                                   "Савченко|savchenko", "Петренко|petrenko",
                                   "Ковальчук|kovalchuk"};
static const struct apisim_city ua_c[] = {
    {"Київ", "Київська"}, {"Харків", "Харківська"}, {"Одеса", "Одеська"},
    {"Дніпро", "Дніпропетровська"}, {"Львів", "Львівська"}, {"Запоріжжя", "Запорізька"},
    {"Вінниця", "Вінницька"}, {"Полтава", "Полтавська"}, {"Чернігів", "Чернігівська"},
    {"Ужгород", "Закарпатська"}, {"Житомир", "Житомирська"}, {"Суми", "Сумська"}};
static const char *const ua_s[] = {"Хрещатик", "вулиця Шевченка", "вулиця Франка",
                                   "проспект Перемоги", "вулиця Садова",
                                   "вулиця Грушевського"};

/* ---- US ---- */
static const char *const us_m[] = {"James", "John", "Robert", "Michael", "William", "David",
                                   "Joseph", "Daniel", "Christopher", "Matthew"};
static const char *const us_f[] = {"Mary", "Jennifer", "Linda", "Patricia", "Elizabeth",
                                   "Jessica", "Sarah", "Karen", "Emily", "Ashley"};
static const char *const us_l[] = {"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia",
                                   "Miller", "Davis", "Rodriguez", "Martinez", "Wilson",
                                   "Anderson"};
static const struct apisim_city us_c[] = {
    {"New York", "New York"}, {"Buffalo", "New York"}, {"Los Angeles", "California"},
    {"San Diego", "California"}, {"Chicago", "Illinois"}, {"Houston", "Texas"},
    {"Austin", "Texas"}, {"Phoenix", "Arizona"}, {"Philadelphia", "Pennsylvania"},
    {"Seattle", "Washington"}, {"Denver", "Colorado"}, {"Boston", "Massachusetts"},
    {"Miami", "Florida"}, {"Atlanta", "Georgia"}};
static const char *const us_s[] = {"Main St", "Oak St", "Maple Ave", "Cedar Ln",
                                   "Washington Ave", "Lake St", "Park Ave"};

#define NAT(code, country, p)                                                            \
    code, country, p##_m, N(p##_m), p##_f, N(p##_f), p##_l, N(p##_l), p##_c, N(p##_c), p##_s, \
        N(p##_s)

/* Postcodes: numeric where the real API sends a JSON number, patterned strings where it
 * sends a string (GB, CA, NL, IE, BR). Numeric ranges avoid leading zeros. */
const struct apisim_nat apisim__nats[] = {
    {NAT("AU", "Australia", au), 1, 2000, 7999, NULL, "0#-####-####", "04##-###-###", "TFN",
     "#########", -38.0, -12.5, 115.0, 153.0, "+10:00", "Australia/Sydney", 0},
    {NAT("BR", "Brazil", br), 0, 0, 0, "#####-###", "(##) ####-####", "(##) 9####-####", "CPF",
     "###.###.###-##", -33.0, -3.0, -60.0, -35.0, "-03:00", "America/Sao_Paulo", 0},
    {NAT("CA", "Canada", ca), 0, 0, 0, "A#A #A#", "N##-N##-####", "N##-N##-####", "SIN",
     "### ### ###", 43.0, 60.0, -130.0, -60.0, "-05:00", "America/Toronto", 0},
    {NAT("CH", "Switzerland", ch), 1, 1000, 9658, NULL, "0## ### ## ##", "07# ### ## ##", "AVS",
     "756.####.####.##", 45.8, 47.8, 6.0, 10.5, "+01:00", "Europe/Zurich", 1},
    {NAT("DE", "Germany", de), 1, 10000, 99999, NULL, "0###-#######", "017#-#######", "SVNR",
     "## ###### A ###", 47.3, 55.0, 6.0, 15.0, "+01:00", "Europe/Berlin", 0},
    {NAT("DK", "Denmark", dk), 1, 1000, 9990, NULL, "N# ## ## ##", "N# ## ## ##", "CPR",
     "######-####", 54.6, 57.7, 8.1, 12.6, "+01:00", "Europe/Copenhagen", 0},
    {NAT("ES", "Spain", es), 1, 10000, 52999, NULL, "9##-###-###", "6##-###-###", "DNI",
     "########-A", 36.0, 43.7, -9.3, 3.3, "+01:00", "Europe/Madrid", 0},
    {NAT("FI", "Finland", fi), 1, 10000, 99999, NULL, "0#-###-###", "04#-###-##-##", "HETU",
     "######-###A", 60.0, 69.0, 21.0, 30.0, "+02:00", "Europe/Helsinki", 0},
    {NAT("FR", "France", fr), 1, 10000, 95999, NULL, "0N-##-##-##-##", "06-##-##-##-##",
     "INSEE", "N ## ## ## ### ### ##", 43.0, 50.5, -1.5, 7.5, "+01:00", "Europe/Paris", 1},
    {NAT("GB", "United Kingdom", gb), 0, 0, 0, "AN# #AA", "01### ######", "07### ######",
     "NINO", "AA ## ## ## A", 50.0, 58.6, -6.0, 1.7, "+00:00", "Europe/London", 0},
    {NAT("IE", "Ireland", ie), 0, 0, 0, "A## A#AA", "0#-###-####", "08#-###-####", "PPS",
     "#######AA", 51.5, 55.3, -10.0, -6.0, "+00:00", "Europe/Dublin", 0},
    {NAT("IN", "India", in), 1, 110001, 855999, NULL, "0##-########", "9#########", "UIDAI",
     "#### #### ####", 8.0, 32.0, 68.0, 92.0, "+05:30", "Asia/Kolkata", 0},
    {NAT("IR", "Iran", ir), 1, 10000, 99999, NULL, "0##-########", "09##-###-####", "", NULL,
     25.0, 39.5, 44.0, 63.0, "+03:30", "Asia/Tehran", 0},
    {NAT("MX", "Mexico", mx), 1, 10000, 99999, NULL, "(N##) ### ####", "(N##) ### ####", "NSS",
     "## ## ## ####-#", 15.0, 31.0, -116.0, -87.0, "-06:00", "America/Mexico_City", 0},
    {NAT("NL", "Netherlands", nl), 0, 0, 0, "N### AA", "(0##) #######", "(06) ########", "BSN",
     "#########", 50.8, 53.5, 3.4, 7.2, "+01:00", "Europe/Amsterdam", 0},
    {NAT("NO", "Norway", no), 1, 1000, 9991, NULL, "N# ## ## ##", "4## ## ###", "FN",
     "###########", 58.0, 71.0, 5.0, 30.0, "+01:00", "Europe/Oslo", 0},
    {NAT("NZ", "New Zealand", nz), 1, 1000, 9899, NULL, "(0#)-###-####", "(02#)-###-####", "",
     NULL, -46.5, -35.0, 167.0, 178.5, "+12:00", "Pacific/Auckland", 0},
    {NAT("RS", "Serbia", rs), 1, 11000, 38999, NULL, "0##-####-###", "06#-####-###", "JMBG",
     "#############", 42.2, 46.2, 19.0, 23.0, "+01:00", "Europe/Belgrade", 0},
    {NAT("TR", "Turkey", tr), 1, 10000, 81999, NULL, "(N##)-###-####", "(5##)-###-####", "TCKN",
     "N##########", 36.0, 42.0, 26.0, 44.8, "+03:00", "Europe/Istanbul", 0},
    {NAT("UA", "Ukraine", ua), 1, 10000, 99999, NULL, "(0##) ###-####", "(09#) ###-####", "",
     NULL, 45.0, 52.0, 22.5, 40.0, "+02:00", "Europe/Kyiv", 0},
    {NAT("US", "United States", us), 1, 10000, 99999, NULL, "(N##) N##-####", "(N##) N##-####",
     "SSN", "N##-##-####", 25.0, 48.0, -124.0, -70.0, "-05:00", "America/New_York", 0},
};
const int apisim__nat_count = N(apisim__nats);

/* ---- nationalities ------------------------------------------------------------------- */

int apisim_nat_count(void) { return apisim__nat_count; }

const char *apisim_nat_code(int i)
{
    return i >= 0 && i < apisim__nat_count ? apisim__nats[i].code : NULL;
}

int apisim_nat_find(const char *code)
{
    if (!code || strlen(code) != 2)
        return -1;
    char up[3] = {(char)(code[0] & ~0x20), (char)(code[1] & ~0x20), 0};
    for (int i = 0; i < apisim__nat_count; i++)
        if (memcmp(apisim__nats[i].code, up, 3) == 0)
            return i;
    return -1;
}

int apisim_nat_postcode_numeric(int i)
{
    return i >= 0 && i < apisim__nat_count ? apisim__nats[i].pc_numeric : 0;
}
