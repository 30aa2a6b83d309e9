/*
 * version.h: plumb's version, recorded in every file plumb writes.
 */
#ifndef PLUMB_VERSION_H
#define PLUMB_VERSION_H

#define PLUMB_VERSION "0.1.0"

#endif
