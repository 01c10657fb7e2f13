#include "dialogs.h"

#include <QMessageBox>
#include <QMutex>
#include <QMutexLocker>
#include <cstdio>

namespace droplora::ui {

namespace {

struct RecorderState {
    QMutex mutex;
    bool recording = false;
    bool confirmAnswer = true;
    QList<Dialogs::Record> records;
};

RecorderState& state() {
    static RecorderState s;
    return s;
}

}  // namespace

void Dialogs::record(Kind kind, const QString& title, const QString& text) {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    s.records.append({kind, title, text});
    std::fprintf(stderr, "[%s] %s\n", qPrintable(title), qPrintable(text));
}

void Dialogs::error(QWidget* parent, const QString& title, const QString& text) {
    if (isRecording()) return record(Kind::Error, title, text);
    QMessageBox::critical(parent, title, text);
}

void Dialogs::information(QWidget* parent, const QString& title, const QString& text) {
    if (isRecording()) return record(Kind::Information, title, text);
    QMessageBox::information(parent, title, text);
}

bool Dialogs::confirm(QWidget* parent, const QString& title, const QString& question) {
    if (isRecording()) {
        record(Kind::Question, title, question);
        QMutexLocker lock(&state().mutex);
        return state().confirmAnswer;
    }
    return QMessageBox::question(parent, title, question, QMessageBox::Yes | QMessageBox::No, QMessageBox::No) ==
           QMessageBox::Yes;
}

void Dialogs::setRecording(bool on, bool confirmAnswer) {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    s.recording = on;
    s.confirmAnswer = confirmAnswer;
}

bool Dialogs::isRecording() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    return s.recording;
}

QList<Dialogs::Record> Dialogs::records() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    return s.records;
}

QString Dialogs::lastError() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    for (auto it = s.records.crbegin(); it != s.records.crend(); ++it)
        if (it->kind == Kind::Error) return it->text;
    return {};
}

void Dialogs::clearRecords() {
    auto& s = state();
    QMutexLocker lock(&s.mutex);
    s.records.clear();
}

}  // namespace droplora::ui
