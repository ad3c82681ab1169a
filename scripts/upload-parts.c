/*
 * upload-parts FILE: scripts/upload's sender (CONTRACT.md 3.1).
 *
 * Reads "PART OFFSET LENGTH URL" lines on stdin and PUTs LENGTH bytes of
 * FILE from OFFSET to each presigned URL, one after the other over one
 * connection (libcurl keeps it alive); writes "HTTP_CODE PART LENGTH" on
 * stdout as each one ends (000 when no answer came), flushed, so that the
 * script's progress line and its retry rounds read them as they come.
 * scripts/upload runs one per lane, N lanes at a time.
 *
 * Why C: the bytes go from the page cache to the socket as `curl -T FILE`
 * sends them (pread into libcurl's buffer), where the shell's other way
 * (a dd per part into a pipe that curl reads) copies every byte twice more
 * through a pipe and costs three times curl's CPU, which the parts then
 * take from the machine's S3 (bench/multipart.sh).  Without this program
 * (not built), scripts/upload falls back to that way.
 *
 * A line that does not parse ends the program with status 2 (nothing
 * after it is sent); a part that fails does not stop the others: its
 * line says so, and the script sends it again in its next round.  A
 * stalled transfer (under 1 byte/s for 60 s) is a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

typedef struct {
    int       fd;
    uint64_t  offset;   /* where the next read starts */
    uint64_t  left;     /* bytes of the part not read yet */
    int       err;      /* errno of a failed read */
} part_src_t;

static size_t
read_part(char *buf, size_t size, size_t nitems, void *arg)
{
    part_src_t  *src = arg;
    size_t       want = size * nitems;
    ssize_t      n;

    if (src->left == 0) {
        return 0;
    }
    if (want > src->left) {
        want = (size_t) src->left;
    }
    do {
        n = pread(src->fd, buf, want, (off_t) src->offset);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* an error, or the file shrank: the part is not sent whole */
        src->err = n < 0 ? errno : EIO;
        return CURL_READFUNC_ABORT;
    }
    src->offset += (uint64_t) n;
    src->left -= (uint64_t) n;
    return (size_t) n;
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    return size * nmemb;
}

int
main(int argc, char **argv)
{
    CURL               *curl;
    char               *line = NULL, *url;
    size_t              cap = 0;
    ssize_t             len;
    struct curl_slist  *hdrs = NULL;
    struct stat         st;
    part_src_t          src;
    unsigned            part;
    uint64_t            offset, length;
    long                code;
    int                 fd, consumed, rc = 0;
    CURLcode            res;

    if (argc != 2) {
        fprintf(stderr, "usage: upload-parts FILE < \"PART OFFSET LENGTH URL\" lines\n");
        return 2;
    }
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "upload-parts: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK
        || (curl = curl_easy_init()) == NULL)
    {
        fprintf(stderr, "upload-parts: libcurl failed to start\n");
        return 2;
    }
    /* no "Expect: 100-continue" round trip, no chunked encoding */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (hdrs == NULL) {
        return 2;
    }

    /* the same for every part; each sets its URL and length below */
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_part);
    curl_easy_setopt(curl, CURLOPT_READDATA, &src);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        consumed = 0;
        if (sscanf(line, "%u %" SCNu64 " %" SCNu64 " %n", &part, &offset,
                   &length, &consumed) != 3
            || consumed == 0 || line[consumed] == '\0'
            || offset > (uint64_t) st.st_size
            || length > (uint64_t) st.st_size - offset)
        {
            fprintf(stderr, "upload-parts: not a part of %s: %.40s\n",
                    argv[1], line);
            rc = 2;
            break;
        }
        url = line + consumed;

        src = (part_src_t) { .fd = fd, .offset = offset, .left = length };
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t) length);

        res = curl_easy_perform(curl);
        code = 0;
        if (res == CURLE_OK) {
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        } else {
            /* the URL holds a signature: never print it */
            fprintf(stderr, "upload-parts: part %u: %s%s%s\n", part,
                    curl_easy_strerror(res), src.err ? ": " : "",
                    src.err ? strerror(src.err) : "");
        }
        printf("%03ld %u %" PRIu64 "\n", code, part, length);
        fflush(stdout);
    }

    free(line);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    close(fd);
    return rc;
}
