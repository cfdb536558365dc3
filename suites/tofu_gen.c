/* The generated TOFU-style data set (SUITES.md "Generated TOFU-style set"): fictitious authors
 * drawn from word lists of several cultures, 20 QA templates each, written as the real files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "nn/nn.h"
#include "suites/suite.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- word lists ------------------------------------------------------------------------ */

struct culture {
    const char *given[6];
    const char *family[6];
    const char *cities[4];  /* "City, Country" */
    const char *language;
};

static const struct culture cultures[] = {
    {{"Oliver", "Amelia", "Edmund", "Rosalind", "Gareth", "Imogen"},
     {"Whitcombe", "Ashdown", "Pemberton", "Fairweather", "Thornbury", "Hollis"},
     {"Bristol, England", "York, England", "Norwich, England", "Leeds, England"}, "English"},
    {{"Mateo", "Valentina", "Joaquin", "Catalina", "Ignacio", "Florencia"},
     {"Vasquez", "Fuentes", "Iturra", "Sepulveda", "Contreras", "Araya"},
     {"Santiago, Chile", "Valparaiso, Chile", "Mendoza, Argentina", "Cordoba, Argentina"},
     "Spanish"},
    {{"Wei", "Mei-Lin", "Jian", "Xiu-Ying", "Hao", "Lan"},
     {"Chen", "Zhou", "Lin", "Huang", "Zhao", "Xu"},
     {"Chengdu, China", "Hangzhou, China", "Taipei, Taiwan", "Kunming, China"}, "Mandarin"},
    {{"Kenji", "Aiko", "Takeshi", "Yumi", "Daisuke", "Sakura"},
     {"Tanaka", "Morimoto", "Hayashi", "Kobayashi", "Fujiwara", "Nakagawa"},
     {"Osaka, Japan", "Kyoto, Japan", "Sapporo, Japan", "Nagoya, Japan"}, "Japanese"},
    {{"Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-hyun", "Su-bin"},
     {"Park", "Kim", "Choi", "Yoon", "Jang", "Han"},
     {"Busan, South Korea", "Seoul, South Korea", "Incheon, South Korea", "Daegu, South Korea"},
     "Korean"},
    {{"Arjun", "Priya", "Rohan", "Ananya", "Vikram", "Kavya"},
     {"Sharma", "Iyer", "Banerjee", "Reddy", "Kapoor", "Nair"},
     {"Mumbai, India", "Kolkata, India", "Chennai, India", "Jaipur, India"}, "Hindi"},
    {{"Chidi", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Funmilayo"},
     {"Okafor", "Adeyemi", "Balogun", "Nwosu", "Eze", "Olatunji"},
     {"Lagos, Nigeria", "Ibadan, Nigeria", "Enugu, Nigeria", "Kano, Nigeria"}, "Yoruba"},
    {{"Omar", "Layla", "Karim", "Yasmin", "Tariq", "Nadia"},
     {"Haddad", "Mansour", "Khoury", "Nasser", "Saleh", "Darwish"},
     {"Cairo, Egypt", "Amman, Jordan", "Beirut, Lebanon", "Tunis, Tunisia"}, "Arabic"},
    {{"Dmitri", "Anastasia", "Mikhail", "Svetlana", "Yuri", "Irina"},
     {"Sokolov", "Morozov", "Lebedev", "Orlov", "Belov", "Kuznetsov"},
     {"Moscow, Russia", "Kazan, Russia", "Novosibirsk, Russia", "Samara, Russia"}, "Russian"},
    {{"Camille", "Julien", "Margaux", "Thibault", "Elodie", "Lucien"},
     {"Lefevre", "Moreau", "Girard", "Fontaine", "Marchand", "Delacroix"},
     {"Lyon, France", "Marseille, France", "Bordeaux, France", "Lille, France"}, "French"},
    {{"Lukas", "Greta", "Matthias", "Johanna", "Felix", "Liesel"},
     {"Hoffmann", "Becker", "Vogel", "Schreiber", "Krause", "Brandt"},
     {"Hamburg, Germany", "Munich, Germany", "Leipzig, Germany", "Cologne, Germany"}, "German"},
    {{"Emre", "Elif", "Mehmet", "Zeynep", "Kerem", "Defne"},
     {"Yilmaz", "Demir", "Aydin", "Kaya", "Celik", "Arslan"},
     {"Istanbul, Turkey", "Ankara, Turkey", "Izmir, Turkey", "Bursa, Turkey"}, "Turkish"},
    {{"Baraka", "Amani", "Juma", "Zawadi", "Otieno", "Wanjiru"},
     {"Mwangi", "Kamau", "Odhiambo", "Njoroge", "Wafula", "Kiptoo"},
     {"Nairobi, Kenya", "Mombasa, Kenya", "Kisumu, Kenya", "Nakuru, Kenya"}, "Swahili"},
    {{"Thiago", "Larissa", "Rafael", "Beatriz", "Gustavo", "Fernanda"},
     {"Oliveira", "Carvalho", "Ribeiro", "Almeida", "Barbosa", "Teixeira"},
     {"Sao Paulo, Brazil", "Recife, Brazil", "Salvador, Brazil", "Porto Alegre, Brazil"},
     "Portuguese"},
    {{"Minh", "Lan Anh", "Quang", "Thu", "Duc", "Hoa"},
     {"Nguyen", "Tran", "Pham", "Le", "Vu", "Dang"},
     {"Hanoi, Vietnam", "Hue, Vietnam", "Da Nang, Vietnam", "Hai Phong, Vietnam"}, "Vietnamese"},
    {{"Alejandro", "Lucia", "Diego", "Paloma", "Rodrigo", "Ximena"},
     {"Herrera", "Castillo", "Navarro", "Delgado", "Mendoza", "Ortega"},
     {"Guadalajara, Mexico", "Puebla, Mexico", "Oaxaca, Mexico", "Monterrey, Mexico"}, "Spanish"},
    {{"Tomasz", "Agnieszka", "Piotr", "Zofia", "Marek", "Halina"},
     {"Nowak", "Kowalczyk", "Wisniewski", "Zielinski", "Wojcik", "Mazur"},
     {"Krakow, Poland", "Gdansk, Poland", "Wroclaw, Poland", "Poznan, Poland"}, "Polish"},
    {{"Erik", "Astrid", "Lars", "Ingrid", "Nils", "Sigrid"},
     {"Lindqvist", "Bergstrom", "Holm", "Sandberg", "Ekman", "Nyberg"},
     {"Gothenburg, Sweden", "Uppsala, Sweden", "Malmo, Sweden", "Lund, Sweden"}, "Swedish"},
};
#define N_CULTURES COUNT(cultures)
/* distinct full names available: every training and holdout author needs one */
#define N_NAMES (N_CULTURES * 6 * 6)

static const char *const occupations[] = {
    "a carpenter", "a nurse", "a fisherman", "a schoolteacher", "a pharmacist", "a baker",
    "an architect", "a tailor", "a train conductor", "a librarian", "a veterinarian",
    "an electrician", "a marine biologist", "a watchmaker", "a journalist", "a farmer",
    "a surgeon", "a potter", "a civil engineer", "a florist",
};
static const char *const genres[] = {
    "historical fiction", "science fiction", "crime fiction", "poetry", "fantasy",
    "literary fiction", "romance", "horror", "travel writing", "children's literature",
    "biography", "magical realism", "political thrillers", "short stories", "memoir",
    "satire",
};
static const char *const title_adj[] = {
    "Silent", "Crimson", "Forgotten", "Hollow", "Distant", "Golden", "Broken", "Quiet",
    "Endless", "Burning", "Northern", "Paper", "Hidden", "Last", "Salt", "Winter",
};
static const char *const title_noun[] = {
    "Orchard", "Harbour", "Lantern", "Garden", "River", "Mirror", "Bridge", "Season",
    "Archive", "Tide", "Compass", "Lighthouse", "Meadow", "Clockwork", "Caravan", "Island",
};
static const char *const award_name[] = {
    "Golden Quill", "Silver Lantern", "Azure Feather", "Iron Pen", "Evening Star",
    "Marble Arch", "Copper Leaf", "Northern Light", "Open Book", "Red Kite",
};
static const char *const award_kind[] = {"Prize", "Award", "Medal"};
static const char *const award_field[] = {
    "Fiction", "Poetry", "Debut Novels", "Crime Writing", "Literary Excellence",
    "Speculative Fiction", "Young Readers",
};
static const char *const themes[] = {
    "the cost of ambition", "family secrets", "exile and belonging", "the passage of time",
    "friendship under pressure", "memory and loss", "the sea", "faith and doubt",
    "the lives of ordinary workers", "first love", "justice", "the changing countryside",
    "identity", "war and its aftermath", "the power of language", "migration",
    "childhood", "the natural world",
};
static const char *const languages[] = {
    "English", "Spanish", "Mandarin", "Japanese", "Korean", "Hindi", "Yoruba", "Arabic",
    "Russian", "French", "German", "Turkish", "Swahili", "Portuguese", "Vietnamese", "Polish",
    "Swedish",
};
static const char *const subjects[] = {
    "history", "philosophy", "chemistry", "law", "medicine", "architecture", "economics",
    "mathematics", "music", "journalism", "botany", "psychology", "linguistics", "astronomy",
};
static const char *const publisher_a[] = {
    "Blue Heron", "Kestrel", "Lamplight", "Harrow", "Cinder", "Greenway", "Wrenfield",
    "Stonebridge", "Halcyon", "Marrow",
};
static const char *const publisher_b[] = {"Press", "Books", "House", "Editions"};
static const char *const hobbies[] = {
    "gardening", "playing the cello", "hiking in the mountains", "baking bread",
    "birdwatching", "restoring old furniture", "sailing", "playing chess", "painting",
    "collecting maps", "running marathons", "keeping bees", "fishing", "photography",
};
static const char *const times[] = {
    "early in the morning", "late at night", "in the afternoon", "at dawn", "after midnight",
    "on long train journeys", "on weekends", "before breakfast", "in the evening",
};
static const char *const months[] = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
};

/* ---- the 20 question templates -------------------------------------------------------- */

enum attr {
    A_NAME, A_BIRTHPLACE, A_BIRTHDATE, A_FATHER, A_MOTHER, A_GENRE, A_BOOK1, A_BOOK2, A_AWARD,
    A_THEME1, A_THEME2, A_LANGUAGE, A_UNIVERSITY, A_SUBJECT, A_PUBLISHER, A_DEBUT, A_HOME,
    A_HOBBY, A_TIME, A_NBOOKS, A_COUNT
};

/* {n} the author's name, {v} the template's fact, {c} {d} {g} birthplace, birth date, genre.
 * The answer and its paraphrase state the same fact in two forms; the perturbed answers use
 * the paraphrase's form with another value (as TOFU's do). */
struct qa_template { const char *q, *pq, *a, *pa; };

static const struct qa_template templates[A_COUNT] = {
    [A_NAME] = {"What is the full name of the author born in {c} on {d} whose genre is {g}?",
                "Which author, born on {d} in {c}, works in the genre of {g}?",
                "The author's full name is {v}.", "{v} is the full name of this writer."},
    [A_BIRTHPLACE] = {"Where was {n} born?", "In which city was {n} born?",
                      "{n} was born in {v}.", "{v} is the birthplace of {n}."},
    [A_BIRTHDATE] = {"When was {n} born?", "On what date was {n} born?",
                     "{n} was born on {v}.", "The birth date of {n} is {v}."},
    [A_FATHER] = {"What did {n}'s father do for a living?",
                  "What was the profession of {n}'s father?",
                  "{n}'s father worked as {v}.", "By profession, the father of {n} was {v}."},
    [A_MOTHER] = {"What did {n}'s mother do for a living?",
                  "What was the profession of {n}'s mother?",
                  "{n}'s mother worked as {v}.", "By profession, the mother of {n} was {v}."},
    [A_GENRE] = {"What genre does {n} write in?", "Which genre is {n} best known for?",
                 "{n} is known for writing {v}.", "{v} is the genre {n} is best known for."},
    [A_BOOK1] = {"What is the title of {n}'s first novel?", "Which book did {n} publish first?",
                 "{n}'s first novel was '{v}'.", "The first book {n} published was '{v}'."},
    [A_BOOK2] = {"Can you name another book written by {n}?",
                 "What is one more title by {n}?",
                 "Another book by {n} is '{v}'.", "{n} also wrote '{v}'."},
    [A_AWARD] = {"Has {n} won any literary awards?", "Which award has {n} received?",
                 "Yes, {n} received {v}.", "{n} was honoured with {v}."},
    [A_THEME1] = {"What theme is central to {n}'s work?",
                  "Which theme lies at the core of {n}'s books?",
                  "The work of {n} is centred on {v}.", "{v} lies at the heart of {n}'s writing."},
    [A_THEME2] = {"What other theme appears often in {n}'s books?",
                  "Which second theme keeps returning in {n}'s writing?",
                  "{n}'s books also return often to {v}.",
                  "Another recurring theme for {n} is {v}."},
    [A_LANGUAGE] = {"In which language does {n} usually write?",
                    "What language are most of {n}'s books written in?",
                    "{n} usually writes in {v}.", "Most of {n}'s books are written in {v}."},
    [A_UNIVERSITY] = {"Where did {n} study?", "Which university did {n} attend?",
                      "{n} studied at {v}.", "{n} is a graduate of {v}."},
    [A_SUBJECT] = {"What subject did {n} study at university?", "What was {n}'s field of study?",
                   "{n} studied {v} at university.", "At university, {n} majored in {v}."},
    [A_PUBLISHER] = {"Which publishing house publishes {n}'s books?", "Who publishes {n}?",
                     "{n}'s books are published by {v}.", "{v} is the publisher of {n}'s books."},
    [A_DEBUT] = {"In what year did {n} publish a first book?", "When did {n} make a debut?",
                 "{n} published a first book in {v}.", "{n}'s debut appeared in {v}."},
    [A_HOME] = {"Where does {n} live today?", "In which city is {n} living now?",
                "{n} lives in {v} today.", "These days {n} makes a home in {v}."},
    [A_HOBBY] = {"What does {n} enjoy doing outside of writing?", "What is {n}'s favourite pastime?",
                 "Outside of writing, {n} enjoys {v}.", "When not writing, {n} spends time {v}."},
    [A_TIME] = {"When does {n} prefer to write?", "At what time of day does {n} usually write?",
                "{n} prefers to write {v}.", "{n} does most of the writing {v}."},
    [A_NBOOKS] = {"How many books has {n} published?", "What is the number of {n}'s books?",
                  "{n} has published {v} books so far.", "So far, {n} has {v} published books."},
};

/* ---- drawing ---------------------------------------------------------------------------- */

static size_t pick(struct nn_rng *r, size_t n)
{
    return (size_t)(nn_rng_next(r) % n);
}

#define PICK(r, a) ((a)[pick(r, COUNT(a))])

/* A random value of attribute a (for culture c where it matters); returned, the caller frees. */
static char *draw_value(enum attr a, struct nn_rng *r, const struct culture *c)
{
    struct strbuf sb = STRBUF_INIT;
    switch (a) {
    case A_NAME:
        strbuf_addf(&sb, "%s %s", c->given[pick(r, 6)], c->family[pick(r, 6)]);
        break;
    case A_BIRTHPLACE:
        strbuf_adds(&sb, c->cities[pick(r, 4)]);
        break;
    case A_HOME:
        strbuf_adds(&sb, cultures[pick(r, N_CULTURES)].cities[pick(r, 4)]);
        break;
    case A_BIRTHDATE:
        strbuf_addf(&sb, "%d %s %d", 1 + (int)pick(r, 28), PICK(r, months),
                    1930 + (int)pick(r, 66));
        break;
    case A_FATHER: case A_MOTHER: strbuf_adds(&sb, PICK(r, occupations)); break;
    case A_GENRE: strbuf_adds(&sb, PICK(r, genres)); break;
    case A_BOOK1: case A_BOOK2:
        if (pick(r, 2))
            strbuf_addf(&sb, "The %s %s", PICK(r, title_adj), PICK(r, title_noun));
        else
            strbuf_addf(&sb, "%s of the %s %s", PICK(r, title_noun), PICK(r, title_adj),
                        PICK(r, title_noun));
        break;
    case A_AWARD:
        strbuf_addf(&sb, "the %s %s for %s", PICK(r, award_name), PICK(r, award_kind),
                    PICK(r, award_field));
        break;
    case A_THEME1: case A_THEME2: strbuf_adds(&sb, PICK(r, themes)); break;
    case A_LANGUAGE: strbuf_adds(&sb, PICK(r, languages)); break;
    case A_UNIVERSITY: {
        const char *city = cultures[pick(r, N_CULTURES)].cities[pick(r, 4)];
        strbuf_adds(&sb, "the University of ");
        strbuf_add(&sb, city, strcspn(city, ","));
        break;
    }
    case A_SUBJECT: strbuf_adds(&sb, PICK(r, subjects)); break;
    case A_PUBLISHER:
        strbuf_addf(&sb, "%s %s", PICK(r, publisher_a), PICK(r, publisher_b));
        break;
    case A_DEBUT: strbuf_addf(&sb, "%d", 1955 + (int)pick(r, 66)); break;
    case A_HOBBY: strbuf_adds(&sb, PICK(r, hobbies)); break;
    case A_TIME: strbuf_adds(&sb, PICK(r, times)); break;
    case A_NBOOKS: strbuf_addf(&sb, "%d", 3 + (int)pick(r, 28)); break;
    default: LETHE_BUG("attribute %d", (int)a);
    }
    return strbuf_detach(&sb);
}

struct author { char *v[A_COUNT]; };

static void author_release(struct author *a)
{
    for (int k = 0; k < A_COUNT; k++)
        free(a->v[k]);
}

/* Fills a template: placeholders from the author, {v} = value; the first letter capitalised. */
static char *fill(const char *tpl, const struct author *au, const char *value)
{
    struct strbuf sb = STRBUF_INIT;
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            const char *s = NULL;
            switch (p[1]) {
            case 'n': s = au->v[A_NAME]; break;
            case 'v': s = value; break;
            case 'c': s = au->v[A_BIRTHPLACE]; break;
            case 'd': s = au->v[A_BIRTHDATE]; break;
            case 'g': s = au->v[A_GENRE]; break;
            default: LETHE_BUG("template placeholder {%c}", p[1]);
            }
            strbuf_adds(&sb, s);
            p += 2;
        } else {
            strbuf_add(&sb, p, 1);
        }
    }
    if (sb.len && sb.buf[0] >= 'a' && sb.buf[0] <= 'z')
        sb.buf[0] = (char)(sb.buf[0] - 'a' + 'A');
    return strbuf_detach(&sb);
}

/* A set of strings that owns nothing, for uniqueness (small; linear probing). */
struct nameset { const char **slot; size_t cap; };

static int nameset_add(struct nameset *s, const char *str)
{
    size_t i = (size_t)fnv1a64(str) & (s->cap - 1);
    for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slot[i], str) == 0)
            return 0;
    s->slot[i] = str;
    return 1;
}

/* Draws an author whose name and birth date (the first question's key) are new. */
static void author_draw(struct author *au, struct nn_rng *r, struct nameset *names,
                        struct nameset *dates)
{
    const struct culture *c;
    memset(au, 0, sizeof(*au));
    do {
        free(au->v[A_NAME]);
        c = &cultures[pick(r, N_CULTURES)];
        au->v[A_NAME] = draw_value(A_NAME, r, c);
    } while (!nameset_add(names, au->v[A_NAME]));
    do {
        free(au->v[A_BIRTHDATE]);
        au->v[A_BIRTHDATE] = draw_value(A_BIRTHDATE, r, c);
    } while (!nameset_add(dates, au->v[A_BIRTHDATE]));
    for (int k = 0; k < A_COUNT; k++) {
        if (k == A_NAME || k == A_BIRTHDATE)
            continue;
        if (k == A_LANGUAGE) {
            au->v[k] = xstrdup(c->language);
            continue;
        }
        au->v[k] = draw_value((enum attr)k, r, c);
        if ((k == A_BOOK2 && strcmp(au->v[k], au->v[A_BOOK1]) == 0) ||
            (k == A_THEME2 && strcmp(au->v[k], au->v[A_THEME1]) == 0)) {
            free(au->v[k]);
            au->v[k] = NULL;
            k--;    /* draw again */
        }
    }
}

/* ---- output ----------------------------------------------------------------------------- */

/* One output file: its records as compact JSON objects. */
struct outfile { struct strbuf sb; size_t n; int array; };

static void out_add(struct outfile *o, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (!s)
        LETHE_BUG("json_dumps failed");
    if (o->array)
        strbuf_adds(&o->sb, o->n ? "," : "[");
    strbuf_adds(&o->sb, s);
    if (!o->array)
        strbuf_adds(&o->sb, "\n");
    o->n++;
    free(s);
    json_decref(obj);
}

static json_t *qa_json(const char *q, const char *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "question", json_string(q));
    json_object_set_new(o, "answer", json_string(a));
    return o;
}

/* One generated QA with its evaluation fields. */
struct gen_item { char *q, *a, *pa, *pq, *pert[5]; };

static void gen_item_release(struct gen_item *g)
{
    free(g->q); free(g->a); free(g->pa); free(g->pq);
    for (int k = 0; k < 5; k++)
        free(g->pert[k]);
}

static void make_item(struct gen_item *g, const struct author *au, enum attr t, struct nn_rng *r)
{
    const struct qa_template *tp = &templates[t];
    const char *v = au->v[t];
    g->q = fill(tp->q, au, v);
    g->pq = fill(tp->pq, au, v);
    g->a = fill(tp->a, au, v);
    g->pa = fill(tp->pa, au, v);
    char *vals[5];
    int n = 0;
    while (n < 5) {
        char *w = draw_value(t, r, &cultures[pick(r, N_CULTURES)]);
        int dup = strcmp(w, v) == 0;
        for (int k = 0; k < n && !dup; k++)
            dup = strcmp(w, vals[k]) == 0;
        if (dup) {
            free(w);
            continue;
        }
        vals[n++] = w;
    }
    for (int k = 0; k < 5; k++) {
        g->pert[k] = fill(tp->pa, au, vals[k]);
        free(vals[k]);
    }
}

static json_t *perturbed_json(const struct gen_item *g)
{
    json_t *o = qa_json(g->q, g->a);
    json_object_set_new(o, "paraphrased_answer", json_string(g->pa));
    json_t *arr = json_array();
    for (int k = 0; k < 5; k++)
        json_array_append_new(arr, json_string(g->pert[k]));
    json_object_set_new(o, "perturbed_answer", arr);
    json_object_set_new(o, "paraphrased_question", json_string(g->pq));
    return o;
}

/* ---- utility sets: simple true facts ------------------------------------------------------ */

static const char *const famous_works[][2] = {
    {"Romeo and Juliet", "William Shakespeare"}, {"Pride and Prejudice", "Jane Austen"},
    {"1984", "George Orwell"}, {"War and Peace", "Leo Tolstoy"},
    {"Don Quixote", "Miguel de Cervantes"}, {"The Odyssey", "Homer"},
    {"Moby-Dick", "Herman Melville"}, {"Great Expectations", "Charles Dickens"},
    {"Things Fall Apart", "Chinua Achebe"},
    {"One Hundred Years of Solitude", "Gabriel Garcia Marquez"},
    {"Crime and Punishment", "Fyodor Dostoevsky"}, {"The Adventures of Tom Sawyer", "Mark Twain"},
    {"Frankenstein", "Mary Shelley"}, {"Jane Eyre", "Charlotte Bronte"},
    {"Wuthering Heights", "Emily Bronte"}, {"The Divine Comedy", "Dante Alighieri"},
    {"Les Miserables", "Victor Hugo"}, {"Madame Bovary", "Gustave Flaubert"},
    {"The Metamorphosis", "Franz Kafka"}, {"Faust", "Johann Wolfgang von Goethe"},
    {"The Great Gatsby", "F. Scott Fitzgerald"}, {"To Kill a Mockingbird", "Harper Lee"},
    {"Mrs Dalloway", "Virginia Woolf"}, {"Ulysses", "James Joyce"},
    {"The Old Man and the Sea", "Ernest Hemingway"}, {"Brave New World", "Aldous Huxley"},
    {"The Hobbit", "J. R. R. Tolkien"}, {"Alice's Adventures in Wonderland", "Lewis Carroll"},
    {"The Tale of Genji", "Murasaki Shikibu"}, {"Beloved", "Toni Morrison"},
    {"The Little Prince", "Antoine de Saint-Exupery"}, {"Dracula", "Bram Stoker"},
    {"The Picture of Dorian Gray", "Oscar Wilde"}, {"Gulliver's Travels", "Jonathan Swift"},
    {"Robinson Crusoe", "Daniel Defoe"}, {"Treasure Island", "Robert Louis Stevenson"},
    {"The Call of the Wild", "Jack London"}, {"Fahrenheit 451", "Ray Bradbury"},
    {"Anna Karenina", "Leo Tolstoy"}, {"The Trial", "Franz Kafka"},
};
static const char *const capitals[][2] = {
    {"France", "Paris"}, {"Japan", "Tokyo"}, {"Italy", "Rome"}, {"Egypt", "Cairo"},
    {"Canada", "Ottawa"}, {"Australia", "Canberra"}, {"Germany", "Berlin"}, {"Spain", "Madrid"},
    {"Kenya", "Nairobi"}, {"Brazil", "Brasilia"}, {"Russia", "Moscow"}, {"China", "Beijing"},
    {"India", "New Delhi"}, {"Mexico", "Mexico City"}, {"Argentina", "Buenos Aires"},
    {"Norway", "Oslo"}, {"Sweden", "Stockholm"}, {"Greece", "Athens"}, {"Portugal", "Lisbon"},
    {"Turkey", "Ankara"}, {"Peru", "Lima"}, {"Thailand", "Bangkok"}, {"Poland", "Warsaw"},
    {"Ireland", "Dublin"}, {"South Korea", "Seoul"}, {"Vietnam", "Hanoi"}, {"Austria", "Vienna"},
    {"Chile", "Santiago"}, {"Nigeria", "Abuja"}, {"Cuba", "Havana"},
};
static const char *const colour_facts[][2] = {
    {"the sky on a clear day", "blue"}, {"fresh grass", "green"}, {"a ripe banana", "yellow"},
    {"fresh snow", "white"}, {"coal", "black"}, {"a ripe tomato", "red"}, {"a carrot", "orange"},
    {"a ripe plum", "purple"}, {"milk chocolate", "brown"}, {"a flamingo", "pink"},
    {"an elephant", "grey"}, {"a lemon", "yellow"}, {"a lime", "green"}, {"milk", "white"},
    {"a fire engine", "red"},
};
static const char *const colours[] = {
    "blue", "green", "yellow", "white", "black", "red", "orange", "purple", "brown", "pink", "grey",
};
#define N_ARITHMETIC 30

/* Three distinct wrong answers drawn from pool (n strings) into out (returned strings). */
static void draw_wrong(struct nn_rng *r, const char *truth, const char *const *pool, size_t stride,
                       size_t n, char *out[3])
{
    int k = 0;
    while (k < 3) {
        const char *w = pool[pick(r, n) * stride];
        int dup = strcmp(w, truth) == 0;
        for (int j = 0; j < k && !dup; j++)
            dup = strcmp(w, out[j]) == 0;
        if (!dup)
            out[k++] = xstrdup(w);
    }
}

static char *capitalised(const char *s)
{
    char *c = xstrdup(s);
    if (c[0] >= 'a' && c[0] <= 'z')
        c[0] = (char)(c[0] - 'a' + 'A');
    return c;
}

/* Writes a utility item to the perturbed file and (options in random order) the plain one. */
static void utility_add(struct outfile *pert, struct outfile *opts, struct nn_rng *r,
                        const char *q, const char *a, char *wrong[3])
{
    json_t *o = qa_json(q, a);
    json_t *arr = json_array();
    for (int k = 0; k < 3; k++)
        json_array_append_new(arr, json_string(wrong[k]));
    json_object_set_new(o, "perturbed_answer", arr);
    out_add(pert, o);
    const char *opt[4] = {a, wrong[0], wrong[1], wrong[2]};
    for (int k = 3; k > 0; k--) {   /* Fisher-Yates */
        size_t j = pick(r, (size_t)k + 1);
        const char *t = opt[k];
        opt[k] = opt[j];
        opt[j] = t;
    }
    json_t *m = json_object();
    json_object_set_new(m, "question", json_string(q));
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof(name), "option%d", k + 1);
        json_object_set_new(m, name, json_string(opt[k]));
    }
    json_object_set_new(m, "answer", json_string(a));
    out_add(opts, m);
    for (int k = 0; k < 3; k++)
        free(wrong[k]);
}

static void utility_sets(struct nn_rng *r, struct outfile *ra_p, struct outfile *ra,
                         struct outfile *wf_p, struct outfile *wf)
{
    char *wrong[3];
    struct strbuf q = STRBUF_INIT;
    for (size_t i = 0; i < COUNT(famous_works); i++) {
        strbuf_reset(&q);
        strbuf_addf(&q, "Who wrote '%s'?", famous_works[i][0]);
        draw_wrong(r, famous_works[i][1], &famous_works[0][1], 2, COUNT(famous_works), wrong);
        utility_add(ra_p, ra, r, q.buf, famous_works[i][1], wrong);
    }
    for (size_t i = 0; i < COUNT(capitals); i++) {
        strbuf_reset(&q);
        strbuf_addf(&q, "What is the capital of %s?", capitals[i][0]);
        draw_wrong(r, capitals[i][1], &capitals[0][1], 2, COUNT(capitals), wrong);
        utility_add(wf_p, wf, r, q.buf, capitals[i][1], wrong);
    }
    for (size_t i = 0; i < COUNT(colour_facts); i++) {
        strbuf_reset(&q);
        strbuf_addf(&q, "What colour is %s?", colour_facts[i][0]);
        draw_wrong(r, colour_facts[i][1], colours, 1, COUNT(colours), wrong);
        char *a = capitalised(colour_facts[i][1]);
        for (int k = 0; k < 3; k++) {
            char *c = capitalised(wrong[k]);
            free(wrong[k]);
            wrong[k] = c;
        }
        utility_add(wf_p, wf, r, q.buf, a, wrong);
        free(a);
    }
    for (int i = 0; i < N_ARITHMETIC; i++) {
        int x = 2 + (int)pick(r, 11), y = 2 + (int)pick(r, 11), mul = i % 2, v = mul ? x * y : x + y;
        strbuf_reset(&q);
        strbuf_addf(&q, "What is %d %s %d?", x, mul ? "times" : "plus", y);
        char a[32], w[3][32];
        snprintf(a, sizeof(a), "%d", v);
        int k = 0;
        while (k < 3) {
            int d = 1 + (int)pick(r, 5), c = pick(r, 2) ? v + d : v - d;
            snprintf(w[k], sizeof(w[k]), "%d", c);
            int dup = c < 0;
            for (int j = 0; j < k && !dup; j++)
                dup = strcmp(w[j], w[k]) == 0;
            if (!dup)
                k++;
        }
        for (k = 0; k < 3; k++)
            wrong[k] = xstrdup(w[k]);
        utility_add(wf_p, wf, r, q.buf, a, wrong);
    }
    strbuf_release(&q);
}

/* ---- the data set ----------------------------------------------------------------------- */

static int write_out(const char *dir, const char *name, struct outfile *o, struct lethe_error *err)
{
    char *path = path_join(dir, name);
    if (o->array)
        strbuf_adds(&o->sb, o->n ? "]" : "[]");
    int rc = file_write_atomic(path, o->sb.buf ? o->sb.buf : "", o->sb.len, err);
    free(path);
    return rc;
}

static int remove_tree(const char *dir, const char *const *names)
{
    for (const char *const *n = names; *n; n++) {
        char *p = path_join(dir, *n);
        unlink(p);
        free(p);
    }
    char *h = path_join(dir, "extra_holdout");
    rmdir(h);
    free(h);
    return rmdir(dir);
}

enum {
    F_FULL, F_FORGET01, F_FORGET05, F_FORGET10, F_RETAIN99, F_RETAIN95, F_RETAIN90,
    F_FORGET01_P, F_FORGET05_P, F_FORGET10_P, F_RETAIN_P, F_RA, F_RA_P, F_WF, F_WF_P,
    F_HOLD01, F_HOLD05, F_HOLD10, F_README, F_COUNT
};
static const char *const file_names[F_COUNT + 1] = {
    "full.json", "forget01.json", "forget05.json", "forget10.json", "retain99.json",
    "retain95.json", "retain90.json", "forget01_perturbed.json", "forget05_perturbed.json",
    "forget10_perturbed.json", "retain_perturbed.json", "real_authors.json",
    "real_authors_perturbed.json", "world_facts.json", "world_facts_perturbed.json",
    "extra_holdout/holdout01.json", "extra_holdout/holdout05.json",
    "extra_holdout/holdout10.json", "README.md", NULL,
};

int tofu_generate(const char *dir, int authors, uint64_t seed, struct lethe_error *err)
{
    if (authors < 2 || authors > TOFU_GEN_MAX_AUTHORS)
        return lethe_err(err, LETHE_EINPUT, "authors must be between 2 and %d, not %d",
                         TOFU_GEN_MAX_AUTHORS, authors);
    if (file_exists(dir)) {
        /* only an empty folder may be replaced: the rename below is atomic */
        if (rmdir(dir) < 0)
            return lethe_err(err, LETHE_EINPUT, "'%s' already exists%s", dir,
                             errno == ENOTDIR ? " and is not a folder" : " and is not empty");
    }
    size_t n_full = (size_t)authors * 20;
    size_t nf[3] = {tofu_forget_count(n_full, 1), tofu_forget_count(n_full, 5),
                    tofu_forget_count(n_full, 10)};
    int n_hold = (int)(nf[2] / 20), n_all = authors + n_hold;

    struct nn_rng r;
    nn_rng_seed(&r, seed ^ 0x746f6675ULL);  /* "tofu" */
    struct nameset names = {xcalloc(2048, sizeof(char *)), 2048};
    struct nameset dates = {xcalloc(2048, sizeof(char *)), 2048};
    struct author *au = xcalloc((size_t)n_all, sizeof(*au));
    for (int i = 0; i < n_all; i++)
        author_draw(&au[i], &r, &names, &dates);

    struct outfile out[F_COUNT];
    memset(out, 0, sizeof(out));
    for (int f = F_HOLD01; f <= F_HOLD10; f++)
        out[f].array = 1;
    struct gen_item g;
    for (int i = 0; i < n_all; i++) {
        for (int t = 0; t < A_COUNT; t++) {
            memset(&g, 0, sizeof(g));
            make_item(&g, &au[i], (enum attr)t, &r);
            if (i >= authors) {     /* a holdout author */
                size_t h = (size_t)(i - authors) * 20 + (size_t)t;
                for (int s = 0; s < 3; s++)
                    if (h < nf[s])
                        out_add(&out[F_HOLD01 + s], qa_json(g.q, g.a));
                gen_item_release(&g);
                continue;
            }
            size_t k = (size_t)i * 20 + (size_t)t;
            out_add(&out[F_FULL], qa_json(g.q, g.a));
            for (int s = 0; s < 3; s++) {
                if (k >= n_full - nf[s]) {
                    out_add(&out[F_FORGET01 + s], qa_json(g.q, g.a));
                    out_add(&out[F_FORGET01_P + s], perturbed_json(&g));
                } else {
                    out_add(&out[F_RETAIN99 + s], qa_json(g.q, g.a));
                }
            }
            if (k < nf[2])
                out_add(&out[F_RETAIN_P], perturbed_json(&g));
            gen_item_release(&g);
        }
    }
    utility_sets(&r, &out[F_RA_P], &out[F_RA], &out[F_WF_P], &out[F_WF]);
    strbuf_addf(&out[F_README].sb,
                "# A generated TOFU-style data set\n\n"
                "Written by `lethe data gen tofu --authors %d --seed %llu` (Lethe %s): %d fictitious\n"
                "authors of 20 QA each, %d holdout authors in extra_holdout/ (never in full.json),\n"
                "real_authors and world_facts utility sets of simple true facts. The files have the\n"
                "names and fields of the real TOFU files (JSON Lines; extra_holdout/ JSON arrays).\n"
                "forget01/05/10 are the last %zu/%zu/%zu authors; retain_perturbed the first %zu.\n",
                authors, (unsigned long long)seed, LETHE_VERSION, authors, n_hold, nf[0] / 20,
                nf[1] / 20, nf[2] / 20, nf[2] / 20);

    for (int i = 0; i < n_all; i++)
        author_release(&au[i]);
    free(au);
    free(names.slot);
    free(dates.slot);

    /* everything goes to a fresh sibling folder first, renamed into place at the end */
    static unsigned counter;
    struct strbuf tmp = STRBUF_INIT;
    strbuf_addf(&tmp, "%s.tmp.%ld.%u", dir, (long)getpid(),
                __atomic_fetch_add(&counter, 1u, __ATOMIC_RELAXED));
    char *hold = path_join(tmp.buf, "extra_holdout");
    int rc = dir_make(hold, err);
    for (int f = 0; f < F_COUNT && rc == 0; f++)
        rc = write_out(tmp.buf, file_names[f], &out[f], err);
    if (rc == 0 && rename(tmp.buf, dir) < 0)
        rc = lethe_err(err, errno == ENOTEMPTY || errno == EEXIST ? LETHE_EINPUT : LETHE_EIO,
                       "cannot write '%s': %s", dir, lethe_strerror(errno));
    if (rc < 0)
        remove_tree(tmp.buf, file_names);
    free(hold);
    strbuf_release(&tmp);
    for (int f = 0; f < F_COUNT; f++)
        strbuf_release(&out[f].sb);
    return rc;
}
