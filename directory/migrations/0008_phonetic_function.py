from django.db import migrations

# The SQL twins of directory.phonetics (the Kölner Phonetik, rules in that module's docstring):
# directory_phonetic(word) codes one word that directory_fold has already folded,
# directory_phonetic_codes(text) folds a text and codes each of its words.
#
# directory_phonetic rewrites the word in a fixed number of passes (a third faster than a PL/pgSQL
# loop over its letters when measured): each pass for a rule that depends on a neighbouring letter
# replaces the letter in question by its digit, or by the placeholder Y for an X after C, K or Q
# (code 8), and leaves the neighbours that later passes look at as they are. ^ marks the start of
# the word for the first-C rule and the leading 0. Then the other letters become digits (H none),
# each run of one digit becomes one digit, and every 0 but a leading one goes.
FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION directory_phonetic(word text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    -- Only the letters a-z count; digits and letters of other scripts are passed over.
    code text := '^' || regexp_replace(lower(word), '[^a-z]+', '', 'g');
BEGIN
    -- P before H: 3.
    code := replace(code, 'ph', '3h');
    -- D, T before C, S, Z: 8.
    code := replace(replace(replace(replace(replace(replace(code,
        'dc', '8c'), 'ds', '8s'), 'dz', '8z'), 'tc', '8c'), 'ts', '8s'), 'tz', '8z');
    -- X after C, K, Q: 8 (Y); any other X is 48, below.
    code := replace(replace(replace(code, 'cx', 'cY'), 'kx', 'kY'), 'qx', 'qY');
    -- C after S, Z: 8.
    code := replace(replace(code, 'sc', 's8'), 'zc', 'z8');
    -- C first in the word: 4 before A, H, K, L, O, Q, R, U, X, else 8.
    IF code LIKE '^c%' THEN
        code := replace(replace(replace(replace(replace(replace(replace(replace(replace(
            replace(code, '^ca', '^4a'), '^ch', '^4h'), '^ck', '^4k'), '^cl', '^4l'),
            '^co', '^4o'), '^cq', '^4q'), '^cr', '^4r'), '^cu', '^4u'), '^cY', '^4Y'),
            '^c', '^8');
    END IF;
    -- Any other C: 4 before A, H, K, O, Q, U, X; the C left over codes 8, below.
    code := replace(replace(replace(replace(replace(replace(replace(code,
        'ca', '4a'), 'ch', '4h'), 'ck', '4k'), 'co', '4o'), 'cq', '4q'), 'cu', '4u'), 'cY', '4Y');
    -- The letters without context; H has no code.
    code := translate(replace(code, 'x', '48'),
        'aeijouybpdtfvwgkqlmnrszcYh', '0000000112233344456678888');
    -- One digit for each run of the same digit, then no 0 but a leading one.
    code := regexp_replace(code, '(.)\1+', '\1', 'g');
    RETURN translate(replace(replace(code, '^0', '^a'), '0', ''), 'a^', '0');
END
$$;

CREATE OR REPLACE FUNCTION directory_phonetic_codes(text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    word text;
    code text;
    codes text[] := '{}';
BEGIN
    FOREACH word IN ARRAY string_to_array(directory_fold($1), ' ') LOOP
        code := directory_phonetic(word);
        IF code <> '' THEN
            codes := codes || code;
        END IF;
    END LOOP;
    RETURN codes;
END
$$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION directory_phonetic_codes(text);
DROP FUNCTION directory_phonetic(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0007_request_address_help"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
    ]
