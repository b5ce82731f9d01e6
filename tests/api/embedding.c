/*
 * tests/api/embedding.c - the README's embedding example is docs/examples/embed.c, which the
 * suite compiles and runs (tests/CMakeLists.txt, embed_example): the copy in the README must
 * be the file itself, so what a reader copies compiles and runs as shown.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(embedding, .init = tmpdb_setup_dir, .fini = tmpdb_teardown);

/* A file as a NUL-terminated string (freed at teardown). */
static const char *text_of(const char *path) {
    size_t n;
    const char *bytes = tmpdb_read_file(path, &n);
    return tmpdb_strf("%.*s", (int)n, bytes);
}

/* The text of the first ```c block after `heading` in `md` (freed at teardown). */
static const char *code_block_after(const char *md, const char *heading) {
    const char *h = strstr(md, heading);
    cr_assert_not_null(h, "no '%s' in README.md", heading);
    const char *open = strstr(h, "\n```c\n");
    cr_assert_not_null(open, "no C block after '%s'", heading);
    open += strlen("\n```c\n");
    const char *close = strstr(open, "\n```\n");
    cr_assert_not_null(close);
    return tmpdb_strf("%.*s\n", (int)(close - open), open);
}

/* The README's block was a free-hand sketch: it did not compile with -Wall -Wextra -Werror
 * (an empty if body) and read the create's result after a failed create. */
Test(embedding, the_readme_example_is_docs_examples_embed_c_as_it_is) {
    const char *readme = text_of(FOLIO_SOURCE_DIR "/README.md");
    const char *example = text_of(FOLIO_SOURCE_DIR "/docs/examples/embed.c");
    const char *shown = code_block_after(readme, "\n## Embedding\n");
    const char *from = strstr(example, "#include <folio.h>");
    cr_assert_not_null(from);
    cr_assert_str_eq(shown, from, "README.md's embedding block differs from docs/examples/embed.c "
                                  "(from its #include on)");
}
