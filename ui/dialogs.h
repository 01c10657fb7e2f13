// Every message box of the workbench goes through here, so that tests and the
// headless screenshot mode can record messages instead of blocking on a modal
// dialog. Recording mode also prints each message to stderr.
#pragma once

#include <QString>
#include <QStringList>

class QWidget;

namespace droplora::ui {

class Dialogs {
public:
    enum class Kind { Error, Information, Question };

    struct Record {
        Kind kind = Kind::Information;
        QString title;
        QString text;
    };

    static void error(QWidget* parent, const QString& title, const QString& text);
    static void information(QWidget* parent, const QString& title, const QString& text);
    // Yes/No question; in recording mode answers with the preset answer.
    static bool confirm(QWidget* parent, const QString& title, const QString& question);

    // Recording mode: no modal dialog is shown; messages are kept instead.
    static void setRecording(bool on, bool confirmAnswer = true);
    static bool isRecording();
    static QList<Record> records();
    static QString lastError();  // text of the newest error, empty if none
    static void clearRecords();

private:
    static void record(Kind kind, const QString& title, const QString& text);
};

}  // namespace droplora::ui
